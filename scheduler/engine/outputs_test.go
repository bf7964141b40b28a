package engine

import (
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
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
	st := jobstatus.Derive(j, stored)
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

// Flip a coin until heads: the instance runs again while its own output
// says tails, each round an attempt with its verdict, bounded by the
// limit; downstream sees the last round's outputs.
func TestRepeatUntilHeads(t *testing.T) {
	e := New(nil)
	j := parsed(t, "c-1", `
name: c
tasks:
- {name: flip, command: x, repeat: {while: 'outputs.parameters.result == "tails"', limit: 4}}
- {name: after, depends: [flip], command: "echo {{tasks.flip.outputs.parameters.result}}"}
`)
	e.AddJob(j)
	var stored []job.Attempt
	for round, result := range []string{"tails", "tails", "heads"} {
		ls := e.Plan(big())
		if len(ls) != 1 || ls[0].Attempt.Task != "flip" || ls[0].Attempt.Attempt != round {
			t.Fatalf("round %d: launches %+v", round, ls)
		}
		a := endWithOutputs(t, e, ls[0].Attempt.TaskID(), map[string]string{"result": result})
		stored = append(stored, a)
		want := job.VerdictAgain
		if result == "heads" {
			want = job.VerdictDone
		}
		if a.Verdict != want || !strings.Contains(a.Message, "repeat") {
			t.Fatalf("round %d: %+v", round, a)
		}
		e.Tick()
	}
	ls := e.Plan(big())
	if len(ls) != 1 || ls[0].Attempt.Task != "after" {
		t.Fatalf("after heads: %+v", ls)
	}
	if v, _ := e.OutputParam("c-1", "flip", -1, "result"); v != "heads" {
		t.Fatalf("downstream sees %q", v)
	}
	if st := jobstatus.Derive(j, stored); st.Tasks[0].State != job.Succeeded {
		t.Fatalf("flip: %+v", st.Tasks[0])
	}
}

func TestRepeatStopsAtItsLimit(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "l-1", `{name: l, tasks: [{name: flip, command: x, repeat: {while: 'outputs.parameters.result == "tails"', limit: 2}}]}`))
	var last job.Attempt
	for round := 0; round < 2; round++ {
		ls := e.Plan(big())
		if len(ls) != 1 {
			t.Fatalf("round %d: %+v", round, ls)
		}
		last = endWithOutputs(t, e, ls[0].Attempt.TaskID(), map[string]string{"result": "tails"})
		e.Tick()
	}
	if last.Verdict != job.VerdictDone || !strings.Contains(last.Message, "limit of 2 attempts") || len(e.Jobs()) != 0 {
		t.Fatalf("last %+v, jobs %v", last, e.Jobs())
	}
}

// The engine holds only the outputs some task refers to.
func TestOnlyReferencedOutputsAreHeld(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "h-1", `
name: h
tasks:
- {name: a, command: x}
- {name: b, command: x}
- {name: c, depends: [a, b], command: "echo {{tasks.a.outputs.parameters.v}}"}
`))
	for _, l := range e.Plan(big()) {
		endWithOutputs(t, e, l.Attempt.TaskID(), map[string]string{"v": l.Attempt.Task})
	}
	if v, err := e.OutputParam("h-1", "a", -1, "v"); v != "a" || err != nil {
		t.Fatalf("a: %q %v", v, err)
	}
	if _, err := e.OutputParam("h-1", "b", -1, "v"); err == nil {
		t.Fatal("b's outputs, referred to by no task, are held")
	}
}
