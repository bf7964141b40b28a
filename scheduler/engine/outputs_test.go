package engine

import (
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// endWithOutputs observes a TASK_FINISHED carrying outputs and commits it.
func endWithOutputs(t *testing.T, e *Engine, id string, outs map[string]string) job.Attempt {
	t.Helper()
	apply(t, e, id, mesos.TASK_RUNNING)
	code := 0
	o := e.Observe(Status{TaskID: id, State: mesos.TASK_FINISHED, ExitCode: &code, Outputs: outs})
	if o.Attempt == nil {
		t.Fatalf("%s: no record", id)
	}
	e.Commit(*o.Attempt)
	return *o.Attempt
}

// A succeeded attempt's outputs are on its record, decide the downstream
// when conditions, and are served to the templates of the downstream, per
// instance and aggregated; after a failover (Load) too.
func TestOutputsFlowDownstream(t *testing.T) {
	e := New(nil)
	j := parsed(t, "o-1", outputsSpec)
	e.AddJob(j)
	ls := e.Plan(big())
	if len(ls) != 2 {
		t.Fatalf("launches %+v", ls)
	}
	var stored []job.Attempt
	for _, l := range ls {
		v := "a"
		if l.Attempt.Index == 1 {
			v = "b"
		}
		a := endWithOutputs(t, e, l.Attempt.TaskID(), map[string]string{"n": v})
		if a.Outputs["n"] != v {
			t.Fatalf("record %+v", a)
		}
		stored = append(stored, a)
	}
	check := func(e *Engine) {
		t.Helper()
		ls := e.Plan(big())
		if len(ls) != 1 || ls[0].Attempt.Task != "use" {
			t.Fatalf("after split: %+v", ls)
		}
		if v, err := e.OutputParam("o-1", "split", -1, "n"); v != `["a","b"]` || err != nil {
			t.Fatalf("aggregate %q %v", v, err)
		}
		if v, err := (JobOutputs{Engine: e, Job: "o-1"}).Param("split", 1, "n"); v != "b" || err != nil {
			t.Fatalf("instance 1: %q %v", v, err)
		}
	}
	check(e)
	// A new leader rebuilds them from the stored records.
	e2 := New(nil)
	e2.Load([]*job.Job{parsed(t, "o-1", outputsSpec)}, map[string][]job.Attempt{"o-1": stored})
	check(e2)
	// The status derived from the records agrees.
	st := Derive(j, stored)
	for _, ts := range st.Tasks {
		if ts.Name == "never" && ts.State != job.Skipped {
			t.Fatalf("never: %+v", ts)
		}
	}
}

const outputsSpec = `
name: o
tasks:
- {name: split, command: x, instances: 2}
- {name: use, depends: [split], command: "echo {{tasks.split.instances.1.outputs.parameters.n}}", when: 'tasks.split.outputs.parameters.n == "[\"a\",\"b\"]"'}
- {name: never, depends: [split], command: x, when: 'tasks.split.outputs.parameters.n == "[]"'}
`
