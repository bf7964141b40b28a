package agent

import (
	"sync/atomic"
	"testing"
	"time"
)

// A cancelled timer never runs and leaves the heap at once (so what its
// callback holds, e.g. an acknowledged task, can be collected); the others
// still run in order.
func TestTimersCancel(t *testing.T) {
	tm := newTimers()
	defer tm.close()
	var ran [4]atomic.Bool
	done := make(chan struct{})
	ids := make([]uint64, 4)
	for i := range ids {
		ids[i] = tm.after(time.Duration(50+10*i)*time.Millisecond, func() {
			ran[i].Store(true)
			if i == 3 {
				close(done)
			}
		})
	}
	tm.cancel(ids[1])
	tm.cancel(ids[2])
	tm.cancel(ids[2]) // twice: ignored
	tm.mu.Lock()
	left, indexed := len(tm.h), len(tm.byID)
	tm.mu.Unlock()
	if left != 2 || indexed != 2 {
		t.Fatalf("after cancelling 2 of 4: %d in the heap, %d indexed; want 2 and 2", left, indexed)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("timer 3 did not run")
	}
	if !ran[0].Load() || ran[1].Load() || ran[2].Load() {
		t.Errorf("ran %v %v %v, want only the uncancelled timer 0 (and 3)", ran[0].Load(), ran[1].Load(), ran[2].Load())
	}
	tm.cancel(ids[0]) // fired already: ignored
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if len(tm.h) != 0 || len(tm.byID) != 0 {
		t.Errorf("%d timers left, %d indexed, after all fired", len(tm.h), len(tm.byID))
	}
}
