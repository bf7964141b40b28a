package engine

import (
	"fmt"

	"github.com/gleaner-project/gleaner/scheduler/dag"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/retry"
)

// Output parameters (issue 14): the outputs of each succeeded instance are
// kept with its job (jobState.b.outputs, a dag.Outputs) for the when
// conditions of the DAG and for the templates of the tasks downstream,
// rendered when their instances launch (OutputParam).

// recordOutputsLocked keeps a succeeded attempt's outputs.
func (js *jobState) recordOutputsLocked(t *taskState, a *job.Attempt) {
	if a.State != job.AttemptSucceeded || len(a.Outputs) == 0 {
		return
	}
	if !js.b.outputs.Restricted() {
		// Only what a task refers to is held (the records keep the rest).
		js.b.outputs.Restrict(dag.Referenced(&js.job.Spec))
	}
	js.b.outputs.Record(t.spec.Name, t.spec.Instances, a.Index, a.Outputs)
	js.b.dirty = true
}

// OutputParam returns an output parameter of a scheduled job's task: one
// instance's (index >= 0) or the aggregate (index -1, see dag.Outputs.Param).
func (e *Engine) OutputParam(jobID, task string, index int, name string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	js := e.jobs[jobID]
	if js == nil {
		return "", fmt.Errorf("job %s is not scheduled", jobID)
	}
	return js.b.outputs.Param(task, index, name)
}

// JobOutputs binds OutputParam to one job (an expand.OutputSource).
type JobOutputs struct {
	Engine *Engine
	Job    string
}

// Param implements expand.OutputSource.
func (o JobOutputs) Param(task string, index int, name string) (string, error) {
	return o.Engine.OutputParam(o.Job, task, index, name)
}

// repeatOf compiles a task's repeat condition (checked at submit; a stored
// spec that no longer compiles does not repeat).
func repeatOf(js *jobState, t *taskState) *dag.RepeatCond {
	if t.spec.Repeat == nil {
		return nil
	}
	c, err := dag.CompileRepeat(t.spec.Name+".repeat", t.spec.Repeat)
	if err != nil {
		return nil
	}
	return c
}

// repeatVerdict turns the retry policy's "done" on a succeeded attempt of
// a repeating task into "again" while its condition on the attempt's
// outputs holds and its limit allows; the reason goes to the message
// either way.
func repeatVerdict(in *instState, a *job.Attempt, d *retry.Decision) {
	c := in.task.b.repeat
	if c == nil || a.State != job.AttemptSucceeded || d.Verdict != retry.Done {
		return
	}
	again, why := c.Again(a.Attempt, a.Outputs)
	if again {
		d.Verdict, d.Delay = retry.Again, 0
	}
	d.Reason = why
}
