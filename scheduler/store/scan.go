package store

import (
	"context"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// AttemptScanner reads a job's attempt records a page at a time, so that a
// reader needing only counts or a plan never holds every record of a big
// job decoded at once.
type AttemptScanner interface {
	// ScanAttempts calls fn with the job's attempts, one page at a time,
	// all pages read at one revision. Every instance's attempts arrive
	// in one call, oldest first; the order of instances across calls is
	// the backend's. fn may keep the attempts but not the slice; an error
	// from fn ends the scan and is returned as is.
	ScanAttempts(ctx context.Context, jobID string, fn func([]job.Attempt) error) error
}

var (
	_ AttemptScanner = (*Etcd)(nil)
	_ AttemptScanner = (*Memory)(nil)
)

// ScanAttempts pages through a job's attempts with st's ScanAttempts, or
// hands fn all of them at once when st cannot page.
func ScanAttempts(ctx context.Context, st Store, jobID string, fn func([]job.Attempt) error) error {
	if sc, ok := st.(AttemptScanner); ok {
		return sc.ScanAttempts(ctx, jobID, fn)
	}
	as, err := st.Attempts(ctx, jobID)
	if err != nil {
		return err
	}
	if len(as) == 0 {
		return nil
	}
	return fn(as)
}

// ScanAttempts pages through the job's records AttemptPageSize at a time.
func (e *Etcd) ScanAttempts(ctx context.Context, jobID string, fn func([]job.Attempt) error) error {
	_, err := e.scanAttempts(ctx, e.attemptPrefix(jobID), fn)
	return err
}

// ScanAttempts hands fn every attempt of the job in one call (the records
// are in memory anyway).
func (m *Memory) ScanAttempts(ctx context.Context, jobID string, fn func([]job.Attempt) error) error {
	as, err := m.Attempts(ctx, jobID)
	if err != nil || len(as) == 0 {
		return err
	}
	return fn(as)
}
