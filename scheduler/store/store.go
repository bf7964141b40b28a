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
	// ErrContended means UpdateJob lost the compare-and-swap
	// MaxUpdateAttempts times in a row to other writers.
	ErrContended = errors.New("job record changed by other writers on every attempt")
)

// MaxUpdateAttempts bounds how often UpdateJob reads, changes and tries to
// store a record that other writers keep changing.
const MaxUpdateAttempts = 100

// Store is the scheduler's persistent state. Writes are fenced: a store
// bound to a leadership term rejects writes with ErrNotLeader once the term
// is over. Pending instances are never stored: only jobs and attempts.
type Store interface {
	// CreateJob stores a new job; ErrExists if the id is taken.
	CreateJob(ctx context.Context, j *job.Job) error
	// UpdateJob changes an existing job record by compare-and-swap: it
	// reads the record, applies change to it and stores the result only
	// if the record is still the one read; otherwise it reads it again and
	// applies change again (so change must be a pure function of the
	// record, and may run more than once). An error from change aborts
	// the update and is returned as is. A change that leaves the record
	// as it was writes nothing. It returns the record as stored;
	// ErrNotFound for a missing job, ErrNotLeader once fenced off.
	UpdateJob(ctx context.Context, id string, change func(*job.Job) error) (*job.Job, error)
	GetJob(ctx context.Context, id string) (*job.Job, error)
	ListJobs(ctx context.Context) ([]*job.Job, error)
	// PutAttempts writes attempt records, batched into as few transactions
	// as the backend allows; all-or-nothing per transaction.
	PutAttempts(ctx context.Context, as []job.Attempt) error
	// Attempts returns every attempt of a job.
	Attempts(ctx context.Context, jobID string) ([]job.Attempt, error)
	// InstanceAttempts returns the attempts of one instance, oldest first.
	InstanceAttempts(ctx context.Context, jobID, task string, index int) ([]job.Attempt, error)
	// AttemptsByTaskID returns the stored records of the given Mesos task
	// ids (job.TaskID), keyed by task id; an id with no record (or that
	// is not a Gleaner task id) is left out.
	AttemptsByTaskID(ctx context.Context, taskIDs []string) (map[string]job.Attempt, error)
	FrameworkID(ctx context.Context) (string, error)
	SetFrameworkID(ctx context.Context, id string) error
	// Watch signals (coalesced) whenever the job or its attempts change,
	// until ctx ends. jobID "" watches every job.
	Watch(ctx context.Context, jobID string) <-chan struct{}
}
