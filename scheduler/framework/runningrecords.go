package framework

import (
	"context"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// DefaultRunningRecordDelay is how long the record of a RUNNING update waits
// before it is stored. The update is acknowledged at once; the engine
// knows the task runs. Most short tasks end within the delay, even when
// thousands of updates queue up: their end record, which carries the start
// time, is then the only write of the update path (two records per launch
// instead of three). The job's status counts a launching instance as
// running already; only an instance's own record reads launching that
// long. A RUNNING record lost in a failover is no loss: the stored record
// still says launching, and the new leader's reconciliation asks the
// master, which answers RUNNING.
const DefaultRunningRecordDelay = 5 * time.Second

// runningFlushGap is the least time between two writes of waiting RUNNING
// records: what falls due meanwhile goes in one batched write.
const runningFlushGap = 500 * time.Millisecond

// deferredRunning is the RUNNING records acknowledged and not yet stored,
// by task id, in the order they were deferred. It belongs to the update
// loop (no lock).
type deferredRunning struct {
	delay     time.Duration // Config.RunningRecordDelay
	since     map[string]time.Time
	order     []deferredTask
	lastFlush time.Time
}

type deferredTask struct {
	id string
	at time.Time
}

// splitRunning separates the records a batch stores now from the running
// records that may wait (everything but a task that runs: launching
// records changed by an agent id, every end).
func splitRunning(records []job.Attempt) (now, later []job.Attempt) {
	for _, a := range records {
		if a.State == job.AttemptRunning {
			later = append(later, a)
		} else {
			now = append(now, a)
		}
	}
	return now, later
}

// add defers the records (a task already waiting keeps its first time).
func (d *deferredRunning) add(records []job.Attempt, at time.Time) {
	for _, a := range records {
		id := a.TaskID()
		if _, ok := d.since[id]; ok {
			continue
		}
		if d.since == nil {
			d.since = map[string]time.Time{}
		}
		d.since[id] = at
		d.order = append(d.order, deferredTask{id: id, at: at})
	}
}

// superseded drops the waiting records of the tasks whose next record was
// stored (their end): storing the wait one later would go back in time.
func (d *deferredRunning) superseded(stored []job.Attempt) {
	if len(d.since) == 0 {
		return
	}
	for _, a := range stored {
		delete(d.since, a.TaskID())
	}
	d.dropEmpty()
}

// dropEmpty lets go of the index once nothing waits: a Go map keeps the
// buckets of its largest size (tens of thousands of tasks at the peak of a
// big job) after its keys are deleted.
func (d *deferredRunning) dropEmpty() {
	if len(d.since) == 0 {
		d.since = nil
	}
}

// due takes the tasks deferred at or before cutoff that still wait.
func (d *deferredRunning) due(cutoff time.Time) []string {
	var ids []string
	n := 0
	for ; n < len(d.order) && !d.order[n].at.After(cutoff); n++ {
		t := d.order[n]
		if at, ok := d.since[t.id]; ok && at.Equal(t.at) {
			ids = append(ids, t.id)
		}
	}
	d.order = d.order[n:]
	if len(d.order) == 0 {
		d.order = nil // drop the drained backing array
	}
	for _, id := range ids {
		delete(d.since, id)
	}
	d.dropEmpty()
	return ids
}

// requeue puts back tasks whose records could not be stored, due again
// at once.
func (d *deferredRunning) requeue(ids []string, at time.Time) {
	if d.since == nil {
		d.since = map[string]time.Time{}
	}
	waiting := make([]deferredTask, 0, len(ids)+len(d.order))
	for _, id := range ids {
		d.since[id] = at
		waiting = append(waiting, deferredTask{id: id, at: at})
	}
	d.order = append(waiting, d.order...)
}

// arm sets timer to the next time a record falls due, runningFlushGap
// after the last write at the earliest (stopped when none waits).
func (d *deferredRunning) arm(timer *time.Timer) {
	timer.Stop()
	for len(d.order) > 0 {
		t := d.order[0]
		if at, ok := d.since[t.id]; ok && at.Equal(t.at) {
			next := t.at.Add(d.delay)
			if earliest := d.lastFlush.Add(runningFlushGap); next.Before(earliest) {
				next = earliest
			}
			timer.Reset(time.Until(next))
			return
		}
		d.order = d.order[1:] // superseded
	}
	d.order = nil
}

// storeDeferredRunning stores the RUNNING records due at now: each task's
// record as the engine holds it, if the engine still holds the task as
// running (an end, a removed job: nothing to store). Records that cannot
// be stored wait for the next try (their updates are acknowledged already).
func (f *Framework) storeDeferredRunning(ctx context.Context, now time.Time) {
	ids := f.deferred.due(now.Add(-f.deferred.delay))
	if len(ids) == 0 {
		return
	}
	f.deferred.lastFlush = now
	records := make([]job.Attempt, 0, len(ids))
	for _, id := range ids {
		if a, ok := f.engine.ActiveAttempt(id); ok && a.State == job.AttemptRunning {
			records = append(records, a)
		}
	}
	if len(records) == 0 {
		return
	}
	if err := f.store.PutAttempts(ctx, records); err != nil {
		if ctx.Err() == nil {
			f.log.Warn("running records not stored; trying again", "records", len(records), "err", err)
			f.deferred.requeue(ids, now.Add(-f.deferred.delay))
		}
		return
	}
	recordsStoredByUpdate.Add(float64(len(records)))
	f.work.Add(uint64(len(records)))
}
