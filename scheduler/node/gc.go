package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/retention"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// DefaultGCInterval is how often the leader looks for finished jobs to
// delete (Config.GCInterval).
const DefaultGCInterval = time.Minute

// DefaultFinishedJobTTL is the scheduler's default --finished-job-ttl: a
// week, so etcd does not grow without bound while results stay readable.
const DefaultFinishedJobTTL = 7 * 24 * time.Hour

// gcLoop deletes, while this node leads, the records of finished jobs
// whose time to live has passed and the runs of scheduled jobs beyond
// their history limits (scheduler/retention decides).
func (n *Node) gcLoop(ctx context.Context) {
	every := n.cfg.GCInterval
	if every <= 0 {
		every = DefaultGCInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	finished := map[string]finishedJob{} // what this term learnt of finished jobs
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n.background.Lock()
		err := n.gcOnce(ctx, time.Now(), finished)
		n.background.Unlock()
		if err != nil && ctx.Err() == nil {
			n.log.Warn("garbage collection of finished jobs", "err", err)
		}
	}
}

// finishedJob caches a finished job's retention facts; retried is the
// job's RetriedAt when they were read (a retry makes them stale).
type finishedJob struct {
	retention.Job
	retried time.Time
}

// gcOnce is one pass of retention, with n.background held (gcLoop): it
// reads each finished job once (finished caches what it learnt), leaving
// a big one to the fold first (leftToFold).
func (n *Node) gcOnce(ctx context.Context, now time.Time, finished map[string]finishedJob) error {
	t := n.current()
	if t == nil {
		return nil
	}
	del, ok := t.store.(store.JobDeleter)
	if !ok {
		return nil
	}
	jobs, err := t.store.ListJobs(ctx)
	if err != nil {
		return err
	}
	active := map[string]bool{}
	for _, id := range t.engine.Jobs() {
		active[id] = true
	}
	in := retention.Input{Now: now, DefaultTTL: n.cfg.FinishedJobTTL, Schedules: map[string]*cron.Compiled{}}
	seen := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		seen[j.ID] = true
		if scheduled(j) {
			if c, err := cron.FromJob(j.Spec.Schedule).Compile("schedule"); err == nil {
				in.Schedules[j.ID] = c
			}
			continue
		}
		if active[j.ID] {
			delete(finished, j.ID)
			continue
		}
		f, ok := finished[j.ID]
		if !ok || !f.retried.Equal(j.RetriedAt) {
			if n.leftToFold(t, j) {
				continue
			}
			r, err := reduce(ctx, t.store, j)
			if err != nil {
				return err
			}
			var done bool
			if f, done = finishedFacts(j, r); !done {
				delete(finished, j.ID)
				continue
			}
			finished[j.ID] = f
		}
		in.Finished = append(in.Finished, f.Job)
	}
	for id := range finished {
		if !seen[id] {
			delete(finished, id)
		}
	}
	for _, d := range retention.Plan(in) {
		if n.current() != t || n.Scheduling(d.ID) { // leadership lost, or retried meanwhile
			continue
		}
		if err := n.deleteJob(ctx, t, del, d.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		delete(finished, d.ID)
		n.log.Info("finished job deleted", "job", d.ID, "why", d.Why)
	}
	return nil
}

// finishedFacts derives whether j has finished and, if so, what retention
// needs of it: its outcome and when it ended (its last attempt's end, else
// when it was killed, else when it was submitted).
func finishedFacts(j *job.Job, r *jobstatus.Reduction) (finishedJob, bool) {
	st := r.Status()
	if !st.State.Terminal() {
		return finishedJob{}, false
	}
	ended := j.Submitted
	if j.KilledAt.After(ended) {
		ended = j.KilledAt
	}
	if r.LastEnded().After(ended) {
		ended = r.LastEnded()
	}
	f := finishedJob{Job: retention.Job{ID: j.ID, Parent: j.Parent, Succeeded: st.State == job.Succeeded,
		Ended: ended, TTL: time.Duration(j.Spec.TTLAfterFinished)}, retried: j.RetriedAt}
	if j.Parent != "" {
		f.Scheduled, _ = cron.ParseRunID(j.Parent, j.ID)
	}
	return f, true
}

// deleteJob removes a finished job's work-queue records and then its job
// and attempt records.
func (n *Node) deleteJob(ctx context.Context, t *term, del store.JobDeleter, id string) error {
	if q := n.cfg.Framework.Queue; q != nil {
		if err := q.Delete(ctx, id); err != nil {
			return fmt.Errorf("delete job %s: queue: %w", id, err)
		}
	}
	if err := deleteArtifacts(ctx, n.cfg.Framework.ArtifactStore, id); err != nil { // artifacts.go
		n.log.Warn("delete job's artifacts (left in the store)", "job", id, "err", err)
	}
	return del.DeleteJob(ctx, id)
}

// Purge deletes a finished job's records now (job delete). A job still
// running or pending is refused with a ConflictError (kill it first); a
// scheduled job goes with its finished runs, and is refused while a run is
// active.
func (n *Node) Purge(ctx context.Context, id string) (*job.Job, error) {
	t := n.current()
	if t == nil {
		return nil, n.notLeader(ctx)
	}
	del, ok := t.store.(store.JobDeleter)
	if !ok {
		return nil, fmt.Errorf("purge job %s: this store does not delete jobs", id)
	}
	j, err := t.store.GetJob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("purge job %s: %w", id, err)
	}
	victims := []*job.Job{j}
	if scheduled(j) {
		all, err := t.store.ListJobs(ctx)
		if err != nil {
			return nil, fmt.Errorf("purge job %s: %w", id, err)
		}
		victims = victims[:0]
		for _, r := range all {
			if r.Parent == id {
				victims = append(victims, r)
			}
		}
		victims = append(victims, j) // the schedule last: a failure leaves it to retry
	}
	active := map[string]bool{}
	for _, a := range t.engine.Jobs() {
		active[a] = true
	}
	for _, v := range victims {
		if scheduled(v) {
			continue
		}
		r, err := reduce(ctx, t.store, v)
		if err != nil {
			return nil, fmt.Errorf("purge job %s: %w", id, err)
		}
		if _, done := finishedFacts(v, r); active[v.ID] || !done {
			return nil, &ConflictError{Msg: fmt.Sprintf("job %s has not finished; kill it first (gleaner job kill %s)", v.ID, v.ID)}
		}
	}
	for _, v := range victims {
		err := n.deleteJob(ctx, t, del, v.ID)
		if errors.Is(err, store.ErrNotLeader) {
			return nil, n.notLeader(ctx)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("purge job %s: %w", id, err)
		}
	}
	n.log.Info("job purged", "job", id, "records", len(victims))
	return j, nil
}

// backgroundPageSize is how many attempt records one etcd request reads
// for the background readers of finished jobs (reduce: fold, retention,
// purge), a quarter of the hot paths' store.AttemptPageSize. They run right
// after a big job ends, just when the scheduler should hand memory back: a
// 20,000-record page is about 9 MB on the wire, held again in gRPC's
// buffer pool and once more decoded. Etcd 3.4 walks the rest of the range
// for every page, so smaller pages cost time, which a background reader
// can spend.
const backgroundPageSize = 5_000

// reduce reads j's attempts a page at a time into a Reduction: what its
// status and fold plan need, not every record of a big job at once.
func reduce(ctx context.Context, st store.Store, j *job.Job) (*jobstatus.Reduction, error) {
	if e, ok := st.(*store.Etcd); ok {
		st = e.WithAttemptPageSize(backgroundPageSize)
	}
	r := jobstatus.NewReduction(j)
	err := store.ScanAttempts(ctx, st, j.ID, func(page []job.Attempt) error { r.Add(page); return nil })
	if err != nil {
		return nil, err
	}
	return r, nil
}
