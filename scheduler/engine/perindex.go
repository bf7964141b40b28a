package engine

import "github.com/gleaner-project/gleaner/scheduler/retry"

// The per-index failure tolerance (backoffLimitPerIndex, maxFailedIndexes;
// the decision is retry.IndexTolerance): a failed index does not stop the
// task's other indexes, and the task fails only past its tolerance.

// failedForGood reports whether t has failed: with a per-index tolerance,
// once more indexes failed than it tolerates (or, without maxFailedIndexes,
// once every index ended and one failed); otherwise once any instance
// failed.
func (t *taskState) failedForGood() bool {
	if tol := retry.ToleranceOf(t.spec); tol.On {
		return tol.Phase(t.spec.Instances, t.succeeded, t.failed) == retry.IndexesFailed
	}
	return t.failed > 0
}

// indexesSucceeded reports, for a task with a per-index tolerance (on),
// whether every index ended with no more failed than it tolerates.
func (t *taskState) indexesSucceeded() (ok, on bool) {
	tol := retry.ToleranceOf(t.spec)
	return tol.On && tol.Phase(t.spec.Instances, t.succeeded, t.failed) == retry.IndexesSucceeded, tol.On
}
