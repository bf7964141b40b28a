package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/dag"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/queue"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// ConflictError is a request the job's current state does not allow
// (suspend a finished job, retry a running one).
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// update stores a change of a job's desired state on the leader.
func (n *Node) update(ctx context.Context, id string, change func(*job.Job, job.Status) error) (*term, *job.Job, []job.Attempt, error) {
	t := n.current()
	if t == nil {
		return nil, nil, nil, n.notLeader(ctx)
	}
	as, err := t.store.Attempts(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	// A compare-and-swap: change runs again on the record as it is now if
	// another writer (a kill, the cron loop) changed it meanwhile.
	j, err := t.store.UpdateJob(ctx, id, func(j *job.Job) error { return change(j, jobstatus.Derive(j, as)) })
	if errors.Is(err, store.ErrNotLeader) {
		return nil, nil, nil, n.notLeader(ctx)
	}
	if err != nil {
		return nil, nil, nil, err // change's own error (a *ConflictError...) or the store's, naming the job
	}
	return t, j, as, nil
}

// Suspend holds a job: nothing new starts and its running attempts are
// killed; they run again after Resume without using a retry.
func (n *Node) Suspend(ctx context.Context, id string) (*job.Job, error) {
	t, j, _, err := n.update(ctx, id, func(j *job.Job, st job.Status) error {
		if st.State.Terminal() {
			return &ConflictError{Msg: fmt.Sprintf("job %s is %s", id, st.State)}
		}
		j.Suspended = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	kills := t.engine.Suspend(id)
	t.fw.Kill(ctx, kills)
	n.log.Info("job suspended", "job", id, "killed", len(kills))
	return j, nil
}

// Resume lets a suspended job run again.
func (n *Node) Resume(ctx context.Context, id string) (*job.Job, error) {
	t, j, _, err := n.update(ctx, id, func(j *job.Job, st job.Status) error {
		if !j.Suspended {
			return &ConflictError{Msg: fmt.Sprintf("job %s is not suspended", id)}
		}
		j.Suspended = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.engine.Resume(id)
	t.fw.Revive()
	n.log.Info("job resumed", "job", id)
	return j, nil
}

// Retry runs the failed part of a finished job again: failed and killed
// instances with a fresh retry budget, and the tasks skipped because of
// them; with upstream, also every instance of the tasks the failed ones
// depend on.
func (n *Node) Retry(ctx context.Context, id string, upstream bool) (*job.Job, error) {
	t, j, as, err := n.update(ctx, id, func(j *job.Job, st job.Status) error {
		if st.State != job.Failed && st.State != job.Killed {
			return &ConflictError{Msg: fmt.Sprintf("job %s is %s: only a failed or killed job can be retried", id, st.State)}
		}
		j.KillRequested, j.KillReason, j.KilledAt, j.Suspended = false, "", time.Time{}, false
		j.RetriedAt = time.Now().UTC()
		j.Rerun = nil
		if upstream {
			g, err := dag.FromSpec(&j.Spec)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, ts := range st.Tasks {
				if ts.State != job.Failed && ts.State != job.Killed {
					continue
				}
				for _, u := range g.Upstream(ts.Name) {
					if !seen[u] {
						seen[u] = true
						j.Rerun = append(j.Rerun, u)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.engine.Retry(j, as)
	t.fw.Revive()
	n.log.Info("job retried", "job", id, "rerun", j.Rerun)
	return j, nil
}

// initQueue sets up the work queues of work-queue tasks (scheduler/queue)
// under <prefix>queues/, served at the node's advertised URL.
func (n *Node) initQueue() {
	if n.cfg.Framework.Queue == nil {
		n.cfg.Framework.Queue = queue.New(n.cli, n.cfg.Prefix+"queues/", n.cfg.QueueTTL)
	}
	if n.cfg.Framework.QueueURL == "" {
		n.cfg.Framework.QueueURL = n.cfg.AdvertiseURL
	}
}

// Queue is the work queue store, for the API's queue handler.
func (n *Node) Queue() *queue.Queue { return n.cfg.Framework.Queue }

// addQueueItems stores the items of a new job's work-queue tasks (one
// queue per job: the tasks' items in order).
func (n *Node) addQueueItems(ctx context.Context, j *job.Job) error {
	var items []string
	for _, t := range j.Spec.Tasks {
		if t.WorkQueue != nil {
			items = append(items, t.WorkQueue.Items...)
		}
	}
	if len(items) == 0 {
		return nil
	}
	if _, err := n.cfg.Framework.Queue.Add(ctx, j.ID, items); err != nil {
		return fmt.Errorf("submit job %s: queue items: %w", j.ID, err)
	}
	return nil
}
