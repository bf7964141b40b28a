package metrics

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Each time the node becomes leader counts once; losing it counts nothing.
func TestWatchLeadership(t *testing.T) {
	var leading atomic.Bool
	var looks atomic.Int64
	isLeader := func() bool { looks.Add(1); return leading.Load() }
	changes := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_leader_changes_total", Help: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); WatchLeadership(ctx, isLeader, changes, time.Millisecond) }()
	// waitLooks waits until the watcher looked n more times, so it has seen
	// the current value.
	waitLooks := func(n int64) {
		t.Helper()
		target := looks.Load() + n
		deadline := time.Now().Add(10 * time.Second)
		for looks.Load() < target {
			if time.Now().After(deadline) {
				t.Fatal("the watcher stopped looking")
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitLooks(2)
	for _, lead := range []bool{true, true, false, true, false, false, true} {
		leading.Store(lead)
		waitLooks(2)
	}
	cancel()
	<-done
	if got := testutil.ToFloat64(changes); got != 3 {
		t.Fatalf("counted %v leadership gains, want 3", got)
	}
}
