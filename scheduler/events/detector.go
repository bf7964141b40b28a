package events

import (
	"context"
	"fmt"
	"log/slog"
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
)

// DetectorConfig configures a Detector.
type DetectorConfig struct {
	// Store is read (the scheduler's unfenced store: standbys detect too,
	// so a new leader's baseline is current).
	Store store.Store
	Log   *Log
	// MinInterval and Resync: see DefaultMinInterval, DefaultResync.
	MinInterval time.Duration
	Resync      time.Duration
	Logger      *slog.Logger
}

// Detector turns what the store holds into events, off the scheduling
// path: it re-derives each job's status (jobstatus.Derive, as the API does)
// at most every MinInterval and appends Diff's events to the Log. Jobs
// present at its first read are its baseline (no events for them); a job
// in a final state is not re-read until its record changes (a retry).
type Detector struct {
	cfg   DetectorConfig
	known map[string]seen
}

type seen struct {
	status job.Status
	record string // what of the job record can change its status
	// failedUntil: the latest end of a failed attempt already announced.
	failedUntil time.Time
}

// NewDetector returns a Detector; call Run.
func NewDetector(cfg DetectorConfig) *Detector {
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = DefaultMinInterval
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Detector{cfg: cfg}
}

// Run detects until ctx ends.
func (d *Detector) Run(ctx context.Context) error {
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
		// however big the jobs), then for a change.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(PollPause(d.cfg.MinInterval, time.Since(start))):
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-resync.C:
		}
	}
	return nil
}

// recordKey is what of a job record can change its derived state.
func recordKey(j *job.Job) string {
	return fmt.Sprint(j.KillRequested, j.Suspended, j.KillReason, j.RetriedAt.UnixNano(), j.Rerun, len(j.Folded))
}

// Poll reads the store once and appends the events found; the first
// Poll only records the baseline.
func (d *Detector) Poll(ctx context.Context) error {
	baseline := d.known == nil
	jobs, err := d.cfg.Store.ListJobs(ctx)
	if err != nil {
		return err
	}
	next := make(map[string]seen, len(jobs))
	var evs []Event
	for _, j := range jobs {
		key := recordKey(j)
		prev, ok := d.known[j.ID]
		if ok && prev.status.State.Terminal() && prev.record == key {
			next[j.ID] = prev
			continue
		}
		// Page by page, keeping what is not a plain success (every failed
		// attempt among it): not a big job's every record at once.
		r := jobstatus.NewReduction(j)
		if err := store.ScanAttempts(ctx, d.cfg.Store, j.ID, func(page []job.Attempt) error { r.Add(page); return nil }); err != nil {
			return err
		}
		st := r.Status()
		failures, mark := InstanceFailures(st, r.Kept(), prev.failedUntil)
		next[j.ID] = seen{status: st, record: key, failedUntil: mark}
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
	d.cfg.Log.Append(evs...)
	return nil
}

// PollPause is the wait after a read of the store that took took: at
// least min, and four times took.
func PollPause(min, took time.Duration) time.Duration { return max(min, 4*took) }
