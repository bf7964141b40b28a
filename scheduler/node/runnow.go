package node

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// RunNowID is the ID of a run of scheduled job id started by hand at t:
// apart from the schedule's own runs (cron.RunID), so the two never
// collide.
func RunNowID(id string, t time.Time) string {
	return id + "-now-" + strconv.FormatInt(t.Unix(), 10)
}

// RunNow starts a run of the scheduled job id now, outside its schedule
// (as `kubectl create job --from=cronjob/x` does); the schedule's own
// runs are not changed. It returns the run's ID.
func (n *Node) RunNow(ctx context.Context, id string) (string, error) {
	t := n.current()
	if t == nil {
		return "", n.notLeader(ctx)
	}
	parent, err := t.store.GetJob(ctx, id)
	if err != nil {
		return "", err
	}
	if parent.Spec.Schedule == nil {
		return "", &ConflictError{Msg: fmt.Sprintf("job %s has no schedule; submit it again to run it again", id)}
	}
	if parent.KillRequested {
		return "", &ConflictError{Msg: fmt.Sprintf("scheduled job %s was killed", id)}
	}
	now := time.Now().UTC()
	r := cron.Run{ID: RunNowID(id, now), Scheduled: now}
	before, _ := t.store.GetJob(ctx, r.ID)
	if before != nil {
		return "", &ConflictError{Msg: fmt.Sprintf("run %s exists already (one run-now a second)", r.ID)}
	}
	if err := n.createRun(ctx, t, parent, r); err != nil {
		if errors.Is(err, store.ErrNotLeader) {
			return "", n.notLeader(ctx)
		}
		return "", err
	}
	return r.ID, nil
}
