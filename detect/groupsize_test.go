package detect

import (
	"testing"
	"unsafe"
)

// TestGroupSize checks that a new group of an exact window, with room
// for its first event and value, fits the allocator's 224-byte class,
// whose objects lie on four cache lines each, never five; and a baseline
// rule's, with its history, the 256-byte class: four cache lines to
// bring in when a flood of new groups evicts old ones.
func TestGroupSize(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"group", unsafe.Sizeof(group{}), 64},
		{"windowGroup", unsafe.Sizeof(windowGroup{}), 224},
		{"historyGroup", unsafe.Sizeof(historyGroup{}), 256},
		{"setGroup", unsafe.Sizeof(setGroup{}), 352},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, want at most %d (group %d, window %d, entry %d, slotVal %d)",
				c.name, c.size, c.max, unsafe.Sizeof(group{}), unsafe.Sizeof(window{}), unsafe.Sizeof(entry{}), unsafe.Sizeof(slotVal{}))
		}
	}
}

// TestHistoryPlace checks that a baseline group's history is where
// group.history looks: the group begins its allocation.
func TestHistoryPlace(t *testing.T) {
	var hg historyGroup
	var hs historySetGroup
	if unsafe.Pointer(&hg.g) != unsafe.Pointer(&hg) || unsafe.Pointer(&hs.g) != unsafe.Pointer(&hs) {
		t.Fatal("a history group's group does not begin it")
	}
	hg.g.histAt, hs.g.histAt = histWindow, histSet
	if hg.g.history() != &hg.hist || hs.g.history() != &hs.hist {
		t.Error("group.history does not find the history of its allocation")
	}
	if (&group{}).history() != nil {
		t.Error("a group of another rule has a history")
	}
}
