package detect

import (
	"testing"
	"unsafe"
)

// TestGroupSize checks that a new group of an exact window, with room
// for its first event and value, fits the allocator's 256-byte class:
// four cache lines to bring in when a flood of new groups evicts old
// ones.
func TestGroupSize(t *testing.T) {
	if n := unsafe.Sizeof(windowGroup{}); n > 256 {
		t.Errorf("windowGroup is %d bytes, want at most 256 (group %d, window %d, entry %d, slotVal %d)",
			n, unsafe.Sizeof(group{}), unsafe.Sizeof(window{}), unsafe.Sizeof(entry{}), unsafe.Sizeof(slotVal{}))
	}
}
