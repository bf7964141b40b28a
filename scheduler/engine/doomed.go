package engine

// ReasonTaskFailed is recorded on the running attempts of a task that can
// no longer succeed, which Gleaner kills (with the task's kill policy).
const ReasonTaskFailed = "task failed"

// doomed reports whether t can no longer reach the successes it needs
// (more instances failed for good than it may lose) and that failure fails
// the job (not continueOn). Its running instances cannot change the
// outcome, so they are killed (Tick) and its pending ones are not launched
// (capacity). Tasks that run on its failure are the DAG's business and
// still run. A continueOn task keeps its other instances going: their
// results may still be wanted.
func (t *taskState) doomed() bool {
	if _, perIndex := t.indexesSucceeded(); perIndex {
		return !t.spec.ContinueOn && t.failedForGood()
	}
	return !t.spec.ContinueOn && t.failed > 0 && t.failed > t.spec.Instances-t.spec.Needed()
}
