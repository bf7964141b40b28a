package engine

import (
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

const fanOutSpec = `
name: f
tasks:
- {name: gen, command: x}
- {name: fan, depends: [gen], withParam: "{{tasks.gen.outputs.parameters.items}}", command: "echo {{item.n}}"}
- {name: sum, depends: [fan], command: "echo {{tasks.fan.outputs.parameters.r}}"}
`

// A JSON list output fans the next task out when it becomes ready: one
// instance per item, {{item}} rendered; the instances' outputs aggregate
// downstream; a new leader and the derived status see the same count.
func TestFanOutFromAnOutput(t *testing.T) {
	e := New(nil)
	j := parsed(t, "f-1", fanOutSpec)
	e.AddJob(j)
	ls := e.Plan(big())
	if len(ls) != 1 || ls[0].Attempt.Task != "gen" {
		t.Fatalf("first: %+v", ls)
	}
	stored := []job.Attempt{endWithOutputs(t, e, ls[0].Attempt.TaskID(), map[string]string{"items": `[{"n":"a"},{"n":"b"},{"n":"c"}]`})}
	if st := jobstatus.Derive(j, stored); st.Tasks[1].Instances != 3 {
		t.Fatalf("derived before fan started: %+v", st.Tasks[1])
	}
	ls = e.Plan(big())
	if len(ls) != 3 {
		t.Fatalf("fan launches: %+v", ls)
	}
	js := e.JobSpec("f-1")
	x, err := expand.FromSpec(js, 1)
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := x.Instance(2); in.Command != "echo c" || in.Env[expand.ItemEnv] != `{"n":"c"}` {
		t.Fatalf("instance 2: %+v", in)
	}
	// Two of three end; a new leader keeps the count and runs the third.
	for _, l := range ls[:2] {
		stored = append(stored, endWithOutputs(t, e, l.Attempt.TaskID(), map[string]string{"r": "x"}))
	}
	e2 := New(nil)
	e2.Load([]*job.Job{parsed(t, "f-1", fanOutSpec)}, map[string][]job.Attempt{"f-1": stored})
	if ls2 := e2.Plan(big()); len(ls2) != 1 || ls2[0].Attempt.Task != "fan" || ls2[0].Attempt.Index != 2 {
		t.Fatalf("after failover: %+v", ls2)
	}
	stored = append(stored, endWithOutputs(t, e, ls[2].Attempt.TaskID(), map[string]string{"r": "y"}))
	if v, _ := e.OutputParam("f-1", "fan", -1, "r"); v != `["x","x","y"]` {
		t.Fatalf("fan's outputs aggregated: %q", v)
	}
	if st := jobstatus.Derive(j, stored); st.Tasks[1].State != job.Succeeded || st.Tasks[1].Counts.Succeeded != 3 {
		t.Fatalf("derived: %+v", st.Tasks[1])
	}
}

// A list that cannot be used skips the task with the reason.
func TestFanOutBadLists(t *testing.T) {
	for _, c := range []struct{ items, why string }{
		{`not json`, "not a JSON list"},
		{`[]`, "the list is empty"},
		{"[" + strings.Repeat(`1,`, spec.MaxFanOutItems) + "1]", "more than 1000"},
		{`["no-object"]`, `withParam {{tasks.gen.outputs.parameters.items}}: tasks[1].command: withItems[0]`},
	} {
		e := New(nil)
		j := parsed(t, "b-1", fanOutSpec)
		e.AddJob(j)
		ls := e.Plan(big())
		a := endWithOutputs(t, e, ls[0].Attempt.TaskID(), map[string]string{"items": c.items})
		if ls := e.Plan(big()); len(ls) != 0 {
			t.Fatalf("%s: launched %+v", c.items, ls)
		}
		if len(e.Jobs()) != 0 {
			t.Errorf("%s: job still scheduled", c.items)
		}
		st := jobstatus.Derive(j, []job.Attempt{a})
		if fan := st.Tasks[1]; fan.State != job.Skipped || !strings.Contains(fan.Reason, c.why) {
			t.Errorf("%s: fan %+v", c.items, fan)
		}
		if st.State == job.Pending || st.State == job.Running {
			t.Errorf("%s: job %s", c.items, st.State)
		}
	}
}
