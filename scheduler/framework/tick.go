package framework

import (
	"context"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// TickInterval is how often the framework hands time to the engine
// (backoffs ending, attempt timeouts, job deadlines, failJob kills).
var TickInterval = 200 * time.Millisecond

// tickLoop runs engine.Tick and acts on its result.
func (f *Framework) tickLoop(ctx context.Context) {
	t := time.NewTicker(TickInterval)
	defer t.Stop()
	ticks, lastTouch := 0, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r := f.engine.Tick()
		if ticks++; ticks%50 == 0 {
			f.pruneExpanded()
		}
		if f.cfg.Queue != nil && time.Since(lastTouch) > f.cfg.Queue.TTL()/3 {
			lastTouch = time.Now()
			go f.touchQueues(ctx)
		}
		if r.Revive {
			f.Revive()
		}
		for _, id := range r.Deadline {
			f.killJob(ctx, id, engine.ReasonDeadline)
		}
		if len(r.Kill) > 0 {
			f.log.Info("killing attempts", "attempts", len(r.Kill), "why", "timeout or failJob")
			f.Kill(ctx, r.Kill)
		}
	}
}

// killJob stores a kill of the job with the reason (a compare-and-swap:
// a suspend or a kill on request racing it keeps both changes), then kills
// its running attempts.
func (f *Framework) killJob(ctx context.Context, id, reason string) {
	if _, err := f.store.UpdateJob(ctx, id, func(j *job.Job) error {
		if !j.KillRequested {
			j.KillRequested, j.KilledAt, j.KillReason = true, time.Now().UTC(), reason
		}
		return nil
	}); err != nil {
		f.log.Warn("kill job: store", "job", id, "err", err)
		return
	}
	tasks := f.engine.KillWithReason(id, reason)
	f.log.Info("job killed", "job", id, "reason", reason, "running", len(tasks))
	f.Kill(ctx, tasks)
}
