package event

import (
	"slices"
	"testing"
)

func TestFieldSet(t *testing.T) {
	var s FieldSet
	if got := s.Fields(); len(got) != 0 {
		t.Errorf("empty set: %v", got)
	}
	s.Add(Identity, RequestID, TLSSubject, RequestID)
	if got, want := s.Fields(), []Field{RequestID, TLSSubject, Identity}; !slices.Equal(got, want) {
		t.Errorf("Fields() = %v, want %v", got, want)
	}
}
