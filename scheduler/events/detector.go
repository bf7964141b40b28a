package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// Defaults of a Detector.
const (
	// DefaultMinInterval is the least time between two reads of the
	// store, however often it changes.
	DefaultMinInterval = time.Second
	// DefaultResync is how often the store is read without a change
	// signal (a watch may miss events, e.g. across an etcd restart).
	DefaultResync = 10 * time.Second
	// DefaultRescan is how often every unfinished job is read whole again
	// however well its changes were followed.
	DefaultRescan = 5 * time.Minute
)

// DetectorConfig configures a Detector.
type DetectorConfig struct {
	// Store is read (the scheduler's unfenced store: standbys detect too,
	// so a new leader's baseline is current).
	Store store.Store
	Log   *Log
	// MinInterval, Resync and Rescan: see DefaultMinInterval,
	// DefaultResync, DefaultRescan.
	MinInterval time.Duration
	Resync      time.Duration
	Rescan      time.Duration
	Logger      *slog.Logger
}

// Detector turns what the store holds into events, off the scheduling
// path: it derives each job's status (as the API does) at most every
// MinInterval and appends Diff's events to the Log. Jobs present at its
// first read are its baseline (no events for them); a job in a final state
// is not re-read until its record changes (a retry).
//
// An unfinished job is read whole once (store.AttemptFollower's
// ScanAttemptsAt, at a revision) into a jobstatus.Live, which then takes
// the job's attempt changes from one watch of every attempt record,
// started after the scans, as they come (those after the job's scan
// revision); a read of the store derives the status again of the jobs
// changed since the last, instead of reading every record of every
// running job again. A job whose record changed (a fold, a retry, a kill),
// a change the Live cannot follow, a watch that ends (an error, a
// compaction) and every Rescan make jobs read whole again. A store that cannot
// follow has every unfinished job read whole at every read.
type Detector struct {
	cfg   DetectorConfig
	known map[string]seen

	// What the API's watches read (JobStatus, StatusesChanged): each
	// job's status as the last read derived it, and a channel closed when
	// a read derived some status again.
	mu       sync.Mutex
	statuses map[string]job.Status
	changed  chan struct{}

	// Following (the store is an AttemptFollower): one watch of every
	// attempt change, and the jobs whose Live took a change since the
	// last read (true: a change it could not follow, read it whole). The
	// changes are applied as they come, not kept until the read: at the
	// peak of a 200,000-instance job tens of thousands waited, a few MB.
	follower  store.AttemptFollower
	changes   <-chan store.AttemptChanges
	stopWatch context.CancelFunc
	touched   map[string]bool
	rescanAll bool      // read every unfinished job whole at the next read
	lastFull  time.Time // the last time every unfinished job was read whole
}

type seen struct {
	status job.Status
	record string // what of the job record can change its status
	// failedUntil: the latest end of a failed attempt already announced.
	failedUntil time.Time
	// live follows an unfinished job's records from revision scanRev on
	// (nil: the job finished, or the store cannot follow); followKey is
	// the job record it was read with.
	live      *jobstatus.Live
	scanRev   int64
	followKey string
}

// NewDetector returns a Detector; call Run.
func NewDetector(cfg DetectorConfig) *Detector {
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = DefaultMinInterval
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = DefaultRescan
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := &Detector{cfg: cfg, changed: make(chan struct{})}
	d.follower, _ = cfg.Store.(store.AttemptFollower)
	return d
}

// JobStatus is job id's status as the last read of the store derived it
// (what the API derives from the records: TestDetectorStatusesAreTheAPIs),
// false for a job that read did not find.
func (d *Detector) JobStatus(id string) (job.Status, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.statuses[id]
	return st, ok
}

// StatusesChanged is closed once a later read derived a status again (it
// may be the same) or found a job added or gone.
func (d *Detector) StatusesChanged() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// publish makes the statuses of known the ones JobStatus answers and, when
// some were derived again, wakes those waiting on StatusesChanged.
func (d *Detector) publish(known map[string]seen, rederived bool) {
	d.mu.Lock()
	same := !rederived && len(known) == len(d.statuses) // a new job is always derived: the same jobs, the same statuses
	d.mu.Unlock()
	if same {
		return
	}
	statuses := make(map[string]job.Status, len(known))
	for id, s := range known {
		statuses[id] = s.status
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	rederived = rederived || len(statuses) != len(d.statuses)
	d.statuses = statuses
	if rederived {
		close(d.changed)
		d.changed = make(chan struct{})
	}
}

// Run detects until ctx ends.
func (d *Detector) Run(ctx context.Context) error {
	defer d.endWatch()
	changed := d.cfg.Store.Watch(ctx, "")
	resync := time.NewTicker(d.cfg.Resync)
	defer resync.Stop()
	for ctx.Err() == nil {
		start := time.Now()
		if err := d.Poll(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn("events: read jobs", "err", err)
		}
		// Bounded rate: wait at least MinInterval and four times what
		// the read took (the detector reads at most a fifth of the time,
		// however big the jobs), then for a change; taking the attempt
		// changes meanwhile.
		pause := time.NewTimer(PollPause(d.cfg.MinInterval, time.Since(start)))
	paused:
		for {
			select {
			case <-ctx.Done():
				pause.Stop()
				return nil
			case <-pause.C:
				break paused
			case b, ok := <-d.changes:
				d.take(b, ok)
			}
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-resync.C:
		case b, ok := <-d.changes:
			d.take(b, ok)
		}
	}
	return nil
}

// take applies a batch of attempt changes to the Lives of the jobs
// followed, each change after its job's scan revision, and notes the jobs
// changed; a watch that ended makes the next read a whole one. A change
// of a job not followed is left: the next read reads that job whole.
func (d *Detector) take(b store.AttemptChanges, open bool) {
	if !open || b.Err != nil {
		if b.Err != nil {
			d.cfg.Logger.Info("events: attempt watch ended; reading every unfinished job whole", "err", b.Err)
		}
		d.endWatch()
		d.rescanAll = true
		return
	}
	for _, c := range b.Changes {
		id := c.Attempt.Job
		s, ok := d.known[id]
		if !ok || s.live == nil || c.Rev <= s.scanRev || d.touched[id] {
			continue // not followed, read by its scan already, or to be read whole
		}
		if d.touched == nil {
			d.touched = map[string]bool{}
		}
		if c.Deleted {
			s.live.Delete(c.Attempt.Task, c.Attempt.Index, c.Attempt.Attempt)
			d.touched[id] = false
		} else {
			d.touched[id] = !s.live.Put(c.Attempt)
		}
	}
}

// takeWaiting takes the batches already delivered, without waiting.
func (d *Detector) takeWaiting() {
	for d.changes != nil {
		select {
		case b, ok := <-d.changes:
			d.take(b, ok)
		default:
			return
		}
	}
}

func (d *Detector) endWatch() {
	if d.stopWatch != nil {
		d.stopWatch()
	}
	d.changes, d.stopWatch, d.touched = nil, nil, nil
}

// recordKey is what of a job record can change its derived state.
func recordKey(j *job.Job) string {
	return fmt.Sprint(j.KillRequested, j.Suspended, j.KillReason, j.RetriedAt.UnixNano(), j.Rerun, len(j.Folded))
}

// followKey is what of a job record a Live derives with (the folds
// themselves, not only how many tasks have some; a job deleted and
// submitted again under its id is another).
func followKey(j *job.Job) string {
	return recordKey(j) + fmt.Sprint(j.Folded, j.Submitted.UnixNano())
}

// Poll reads the store once and appends the events found; the first
// Poll only records the baseline.
func (d *Detector) Poll(ctx context.Context) error {
	baseline := d.known == nil
	d.takeWaiting()
	if d.follower != nil && !d.rescanAll && time.Since(d.lastFull) >= d.cfg.Rescan {
		d.rescanAll = true
	}
	if d.rescanAll {
		d.endWatch()
	}
	jobs, err := d.cfg.Store.ListJobs(ctx)
	if err != nil {
		return err
	}
	next := make(map[string]seen, len(jobs))
	var evs []Event
	rederived := false
	for _, j := range jobs {
		key := recordKey(j)
		prev, ok := d.known[j.ID]
		if ok && prev.status.State.Terminal() && prev.record == key {
			prev.live = nil
			next[j.ID] = prev
			continue
		}
		live, rev := prev.live, prev.scanRev
		lost, changed := d.touched[j.ID]
		if live != nil && !d.rescanAll && !changed && prev.record == key && prev.followKey == followKey(j) {
			next[j.ID] = prev // followed, and nothing changed: the same status
			continue
		}
		if live == nil || d.rescanAll || prev.followKey != followKey(j) || lost {
			if live, rev, err = d.scan(ctx, j); err != nil {
				return err
			}
		}
		st, kept := live.View()
		rederived = true
		failures, mark := InstanceFailures(st, kept, prev.failedUntil)
		now := seen{status: st, record: key, failedUntil: mark}
		if d.follower != nil && !st.State.Terminal() {
			now.live, now.scanRev, now.followKey = live, rev, followKey(j)
		}
		next[j.ID] = now
		if baseline {
			continue
		}
		var p *job.Status
		if ok {
			p = &prev.status
		}
		// Failures first: they happened before the task or job state
		// they lead to.
		diff := Diff(p, st)
		if p == nil && len(diff) > 0 {
			evs = append(evs, diff[0]) // job.submitted still comes first
			diff = diff[1:]
		}
		evs = append(evs, failures...)
		evs = append(evs, diff...)
	}
	d.known = next
	d.publish(next, rederived)
	d.touched = nil
	if d.follower != nil {
		if d.rescanAll {
			d.rescanAll, d.lastFull = false, time.Now()
		}
		d.watch(ctx)
	}
	d.cfg.Log.Append(evs...)
	return nil
}

// scan reads every record of j, page by page, into a Live (a whole-job
// read keeps only what a Reduction keeps) and returns it with the
// revision read at (0 when the store cannot say).
func (d *Detector) scan(ctx context.Context, j *job.Job) (*jobstatus.Live, int64, error) {
	live := jobstatus.NewLive(j)
	add := func(page []job.Attempt) error { live.Add(page); return nil }
	if d.follower == nil {
		return live, 0, store.ScanAttempts(ctx, d.cfg.Store, j.ID, add)
	}
	rev, err := d.follower.ScanAttemptsAt(ctx, j.ID, add)
	return live, rev, err
}

// watch starts the watch of attempt changes, if none runs and a job is
// followed, from the revision after the earliest scan of a followed job.
func (d *Detector) watch(ctx context.Context) {
	if d.changes != nil {
		return
	}
	from := int64(0)
	for _, s := range d.known {
		if s.live != nil && (from == 0 || s.scanRev < from) {
			from = s.scanRev
		}
	}
	if from == 0 {
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	d.changes, d.stopWatch = d.follower.WatchAttempts(wctx, from+1), cancel
}

// PollPause is the wait after a read of the store that took took: at
// least min, and four times took.
func PollPause(min, took time.Duration) time.Duration { return max(min, 4*took) }
