package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LeaderChanges counts the times this scheduler became the leader; summed
// over the schedulers it is the number of leader changes.
var LeaderChanges = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_leader_changes_total",
	Help: "Times this scheduler became the leader (summed over schedulers: leader changes)."})

// LeadershipPoll is how often WatchLeadership looks at the node.
const LeadershipPoll = 250 * time.Millisecond

// WatchLeadership counts into changes every time isLeader turns true,
// looking every poll (LeadershipPoll when 0), until ctx ends. Reading
// IsLeader is a mutex read, so polling costs nothing worth counting, and
// the node needs no hook.
func WatchLeadership(ctx context.Context, isLeader func() bool, changes prometheus.Counter, poll time.Duration) {
	if poll <= 0 {
		poll = LeadershipPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	was := false
	for {
		if now := isLeader(); now != was {
			if now {
				changes.Inc()
			}
			was = now
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
