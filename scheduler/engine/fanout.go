package engine

import (
	"github.com/gleaner-project/gleaner/scheduler/dag"
)

// Fan-out from an output (issue 14, Argo's withParam): a task with
// withParam gets its instances when it becomes ready, one per item of the
// JSON list an upstream task left as an output. The list is stored once,
// in the upstream attempt's outputs; the job record keeps the spec as
// submitted and every reader (the engine here and on Load, jobstatus)
// resolves it the same way (dag.ResolveFanOut).

// fanOutLocked resolves task t's withParam list into its instances (the
// DAG said the task is ready, so the list is there and usable: missing,
// not a list, empty, too long or with an item a placeholder cannot render,
// e.g. {{item.x}} on an item without x, it skips the task with the
// reason).
func (js *jobState) fanOutLocked(t *taskState) bool {
	if t.spec.WithParam == "" || t.spec.WithItems != nil {
		return true
	}
	nj := dag.ResolveFanOut(js.job, &js.b.outputs)
	if nj == js.job {
		return false // not resolvable: the DAG skips it
	}
	js.job = nj
	for i, ts := range js.tasks {
		ts.spec = &nj.Spec.Tasks[i]
	}
	return true
}
