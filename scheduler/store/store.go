package store

import (
	"context"
	"errors"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Errors returned by every Store.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrNotLeader means the write was fenced off: the writer no longer
	// holds leadership. Nothing was written.
	ErrNotLeader = errors.New("not the leader: write fenced off")
)

// Store is the scheduler's persistent state. Writes are fenced: a store
// bound to a leadership term rejects writes with ErrNotLeader once the term
// is over. Pending instances are never stored: only jobs and attempts.
type Store interface {
	// CreateJob stores a new job; ErrExists if the id is taken.
	CreateJob(ctx context.Context, j *job.Job) error
	// UpdateJob replaces an existing job record (desired state changes).
	UpdateJob(ctx context.Context, j *job.Job) error
	GetJob(ctx context.Context, id string) (*job.Job, error)
	ListJobs(ctx context.Context) ([]*job.Job, error)
	// PutAttempts writes attempt records, batched into as few transactions
	// as the backend allows; all-or-nothing per transaction.
	PutAttempts(ctx context.Context, as []job.Attempt) error
	// Attempts returns every attempt of a job.
	Attempts(ctx context.Context, jobID string) ([]job.Attempt, error)
	// InstanceAttempts returns the attempts of one instance, oldest first.
	InstanceAttempts(ctx context.Context, jobID, task string, index int) ([]job.Attempt, error)
	FrameworkID(ctx context.Context) (string, error)
	SetFrameworkID(ctx context.Context, id string) error
	// Watch signals (coalesced) whenever the job or its attempts change,
	// until ctx ends. jobID "" watches every job.
	Watch(ctx context.Context, jobID string) <-chan struct{}
}
