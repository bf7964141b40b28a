package node

import (
	"context"
	"errors"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// DefaultCronInterval is how often the leader evaluates schedules.
const DefaultCronInterval = 5 * time.Second

// cronLoop creates the runs of scheduled jobs while this node leads. Runs
// have deterministic ids (cron.RunID) and are created if absent, and the
// schedule's lastScheduled is stored after them: a new leader evaluates
// the same due times again and neither doubles nor loses a run.
func (n *Node) cronLoop(ctx context.Context) {
	every := n.cfg.CronInterval
	if every <= 0 {
		every = DefaultCronInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := n.cronOnce(ctx, time.Now()); err != nil && ctx.Err() == nil {
			n.log.Warn("cron evaluation", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (n *Node) cronOnce(ctx context.Context, now time.Time) error {
	t := n.current()
	if t == nil {
		return nil
	}
	jobs, err := t.store.ListJobs(ctx)
	if err != nil {
		return err
	}
	running := map[string]bool{}
	for _, id := range t.engine.Jobs() {
		running[id] = true
	}
	for _, parent := range jobs {
		if parent.Spec.Schedule == nil || parent.KillRequested {
			continue
		}
		c, err := cron.FromJob(parent.Spec.Schedule).Compile("schedule")
		if err != nil {
			n.log.Warn("bad schedule", "job", parent.ID, "err", err)
			continue
		}
		var active []cron.Run
		for _, j := range jobs {
			if j.Parent == parent.ID && running[j.ID] {
				at, _ := cron.ParseRunID(parent.ID, j.ID)
				active = append(active, cron.Run{ID: j.ID, Scheduled: at})
			}
		}
		last := parent.LastScheduled
		if last.IsZero() {
			last = parent.Submitted
		}
		plan := c.Evaluate(parent.ID, last, now, active)
		for _, id := range plan.Kill {
			if _, err := n.Kill(ctx, id); err != nil {
				return err
			}
		}
		for _, r := range plan.Create {
			if err := n.createRun(ctx, t, parent, r); err != nil {
				return err
			}
		}
		if plan.Missed > 0 || plan.Coalesced > 0 {
			n.log.Info("scheduled runs not created", "job", parent.ID, "missed", plan.Missed, "coalesced", plan.Coalesced)
		}
		if plan.LastScheduled.After(parent.LastScheduled) {
			if err := n.storeLastScheduled(ctx, t, parent.ID, plan.LastScheduled); err != nil {
				return err
			}
		}
	}
	return nil
}

// storeLastScheduled records a schedule's lastScheduled on the job as it is
// now, not on the copy listed before the runs were created: a kill (or any
// other change) stored meanwhile must not be overwritten.
func (n *Node) storeLastScheduled(ctx context.Context, t *term, id string, last time.Time) error {
	_, err := t.store.UpdateJob(ctx, id, func(j *job.Job) error {
		if last.After(j.LastScheduled) {
			j.LastScheduled = last
		}
		return nil
	})
	return err
}

// createRun stores one run of a scheduled job, create-if-absent, and
// schedules it.
func (n *Node) createRun(ctx context.Context, t *term, parent *job.Job, r cron.Run) error {
	sp := parent.Spec
	sp.Schedule = nil
	run := &job.Job{ID: r.ID, Spec: sp, Submitted: time.Now().UTC(), Parent: parent.ID}
	err := t.store.CreateJob(ctx, run)
	if errors.Is(err, store.ErrExists) {
		return nil // created before (by us or an earlier leader)
	}
	if err != nil {
		return err
	}
	if err := n.addQueueItems(ctx, run); err != nil {
		return err
	}
	t.engine.AddJob(run)
	t.fw.Revive()
	n.log.Info("scheduled run created", "job", parent.ID, "run", run.ID, "scheduled", r.Scheduled)
	return nil
}

// scheduled reports whether a job only creates runs (the engine never
// schedules it).
func scheduled(j *job.Job) bool { return j.Spec.Schedule != nil }
