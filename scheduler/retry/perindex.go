package retry

import "github.com/gleaner-project/gleaner/scheduler/job"

// IndexTolerance is an array task's per-index failure tolerance (the
// spec's backoffLimitPerIndex and maxFailedIndexes): each index retries on
// its own budget (Policy.Retries), a failed index does not stop the others,
// and the task fails once more than MaxFailed indexes failed.
type IndexTolerance struct {
	// On: the task has a per-index tolerance. Off, any failed instance
	// fails the task unless its completions forgive it (the default).
	On bool
	// MaxFailed is how many indexes may fail with the task still
	// succeeding; -1 (unset) lets every index run and fails the task at
	// the end if any failed.
	MaxFailed int
}

// ToleranceOf reads a task's per-index tolerance from its spec.
func ToleranceOf(t *job.TaskSpec) IndexTolerance {
	if t.BackoffLimitPerIndex == nil {
		return IndexTolerance{}
	}
	tol := IndexTolerance{On: true, MaxFailed: -1}
	if t.MaxFailedIndexes != nil {
		tol.MaxFailed = *t.MaxFailedIndexes
	}
	return tol
}

// IndexPhase is where a per-index task stands.
type IndexPhase int

// Phases of a per-index task.
const (
	// IndexesRunning: indexes are still to run or running; failures so
	// far are tolerated.
	IndexesRunning IndexPhase = iota
	// IndexesSucceeded: every index ended and at most MaxFailed failed.
	IndexesSucceeded
	// IndexesFailed: more than MaxFailed indexes failed (the task fails
	// now: kill what runs, start nothing), or, without MaxFailed, every
	// index ended and one failed.
	IndexesFailed
)

var indexPhaseNames = [...]string{"running", "succeeded", "failed"}

func (p IndexPhase) String() string { return indexPhaseNames[p] }

// Phase decides a per-index task's phase from its count of indexes and
// those that succeeded and failed for good. It is pure.
func (t IndexTolerance) Phase(instances, succeeded, failed int) IndexPhase {
	switch {
	case t.MaxFailed >= 0 && failed > t.MaxFailed:
		return IndexesFailed
	case succeeded+failed < instances:
		return IndexesRunning
	case failed > 0 && t.MaxFailed < 0:
		return IndexesFailed
	}
	return IndexesSucceeded
}
