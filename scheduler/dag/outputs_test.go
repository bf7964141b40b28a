package dag

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func TestOutputsParam(t *testing.T) {
	var o Outputs
	o.Record("one", 1, 0, map[string]string{"count": "3"})
	o.Record("arr", 3, 0, map[string]string{"n": "a"})
	o.Record("arr", 3, 2, map[string]string{"n": "c"})
	o.Record("arr", 3, 1, map[string]string{"n": "b", "only": "x"})
	for _, c := range []struct {
		task, name string
		index      int
		want, err  string
	}{
		{"one", "count", -1, "3", ""},
		{"one", "count", 0, "3", ""},
		{"arr", "n", -1, `["a","b","c"]`, ""},
		{"arr", "n", 2, "c", ""},
		{"arr", "only", -1, "", `task arr instance 0 left no output "only"`},
		{"arr", "only", 1, "x", ""},
		{"one", "nope", -1, "", `task one left no output "nope"`},
		{"ghost", "n", -1, "", `task ghost left no output "n"`},
	} {
		got, err := o.Param(c.task, c.index, c.name)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s.%d.%s: err %v, want %q", c.task, c.index, c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s.%d.%s = %q, %v; want %q", c.task, c.index, c.name, got, err, c.want)
		}
	}
	if p := o.Parameters("arr"); len(p) != 1 || p["n"] != `["a","b","c"]` {
		t.Errorf("Parameters(arr) = %v", p)
	}
}

func TestOutputsOfKeepsTheLastSucceededAttempt(t *testing.T) {
	s := &job.Spec{Tasks: []job.TaskSpec{{Name: "flip", Instances: 1}}}
	o := OutputsOf(s, []job.Attempt{
		{Task: "flip", Attempt: 1, State: job.AttemptSucceeded, Outputs: map[string]string{"result": "heads"}},
		{Task: "flip", Attempt: 0, State: job.AttemptSucceeded, Outputs: map[string]string{"result": "tails"}},
		{Task: "flip", Attempt: 2, State: job.AttemptFailed, Outputs: map[string]string{"result": "edge"}},
	})
	if v, err := o.Param("flip", -1, "result"); v != "heads" || err != nil {
		t.Fatalf("result = %q, %v", v, err)
	}
}

func TestWhenOnOutputs(t *testing.T) {
	g, err := Compile([]Node{
		{Name: "flip"},
		{Name: "heads", Depends: []string{"flip"}, When: `tasks.flip.outputs.parameters.result == "heads"`},
		{Name: "tails", Depends: []string{"flip"}, When: `tasks.flip.outputs.parameters.result == "tails"`},
		{Name: "many", Depends: []string{"flip"}, When: `int(tasks.flip.outputs.parameters.count) > 2`},
	})
	if err != nil {
		t.Fatal(err)
	}
	var o Outputs
	o.Record("flip", 1, 0, map[string]string{"result": "heads", "count": "3"})
	got := verdicts(t, g, map[string]State{"flip": Succeeded}, nil, Options{Outputs: &o})
	want := map[string]Verdict{"flip": None, "heads": Ready, "tails": Skip, "many": Ready}
	if !same(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Before flip ended nothing is decided, and submit does not evaluate
	// conditions on outputs (unknown then).
	if got := verdicts(t, g, map[string]State{"flip": Running}, nil, Options{}); got["many"] != Wait {
		t.Fatalf("many before flip ended: %v", got["many"])
	}
	if err := g.CheckWhen(nil); err != nil {
		t.Fatalf("CheckWhen: %v", err)
	}
}

func TestMissingOutputSkipsNamingIt(t *testing.T) {
	s, err := spec.Parse([]byte(`
name: j
tasks:
- {name: split, command: "true"}
- {name: use, depends: [split], command: "echo {{tasks.split.outputs.parameters.count}}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	g, err := FromSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := g.Evaluate(map[string]State{"split": Succeeded}, nil, Options{Outputs: &Outputs{}})
	if err != nil {
		t.Fatal(err)
	}
	if d := ds["use"]; d.Verdict != Skip || !strings.Contains(d.Reason, `tasks[1].command: {{tasks.split.outputs.parameters.count}}: task split left no output "count"`) {
		t.Fatalf("use: %+v", d)
	}
	var o Outputs
	o.Record("split", 1, 0, map[string]string{"count": "4"})
	ds, _ = g.Evaluate(map[string]State{"split": Succeeded}, nil, Options{Outputs: &o})
	if ds["use"].Verdict != Ready {
		t.Fatalf("use with its output: %+v", ds["use"])
	}
}

func TestOutputRefsMustBeUpstream(t *testing.T) {
	for _, c := range []struct{ name, doc, field, msg string }{
		{"not a dependency", `
name: j
tasks:
- {name: a, command: "true"}
- {name: b, command: "echo {{tasks.a.outputs.parameters.x}}"}
`, "tasks[1].command", `task "a" is not upstream of "b"`},
		{"in env, downstream", `
name: j
tasks:
- {name: a, command: "true", env: {X: "{{tasks.b.outputs.parameters.x}}"}}
- {name: b, command: "true", depends: [a]}
`, "tasks[0].env.X", `task "b" is not upstream of "a"`},
		{"unknown task", `
name: j
tasks:
- {name: a, command: "echo {{tasks.zz.outputs.parameters.x}}"}
`, "tasks[0].command", `unknown task "zz"`},
		{"in when", `
name: j
tasks:
- {name: a, command: "true"}
- {name: b, command: "true", when: 'tasks.a.outputs.parameters.x == "1"'}
`, "tasks[1].when", `task "a" is not upstream of "b"`},
		{"an instance past the count", `
name: j
tasks:
- {name: a, command: "true", instances: 2}
- {name: b, command: "echo {{tasks.a.instances.2.outputs.parameters.x}}", depends: [a]}
`, "tasks[1].command", `task "a" has 2 instances`},
	} {
		_, err := spec.Parse([]byte(c.doc))
		fe, ok := spec.AsFieldError(err)
		if !ok || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%s: err %v, want %s: …%s…", c.name, err, c.field, c.msg)
		}
	}
	// Upstream through another task is fine.
	if _, err := spec.Parse([]byte(`
name: j
tasks:
- {name: a, command: "true"}
- {name: m, command: "true", depends: [a]}
- {name: b, depends: "m", args: ["echo", "{{tasks.a.outputs.parameters.x}}", "{{ tasks.a.instances.0.outputs.parameters.x }}"]}
`)); err != nil {
		t.Fatal(err)
	}
}

func TestRepeatCondition(t *testing.T) {
	c, err := CompileRepeat("tasks[0].repeat", &job.Repeat{While: `outputs.parameters.result == "tails"`, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		attempt int
		outs    map[string]string
		again   bool
		why     string
	}{
		{0, map[string]string{"result": "tails"}, true, "repeat: round 2 of at most 3"},
		{1, map[string]string{"result": "heads"}, false, "repeat ended after round 2: while is false"},
		{2, map[string]string{"result": "tails"}, false, "limit of 3 attempts"},
		{0, nil, false, "while is false"},
	} {
		again, why := c.Again(x.attempt, x.outs)
		if again != x.again || !strings.Contains(why, x.why) {
			t.Errorf("attempt %d %v: %v %q", x.attempt, x.outs, again, why)
		}
	}
	for _, b := range []struct {
		r     job.Repeat
		field string
	}{
		{job.Repeat{Limit: 3}, "tasks[0].repeat.while"},
		{job.Repeat{While: "true", Limit: 0}, "tasks[0].repeat.limit"},
		{job.Repeat{While: "true", Limit: MaxRepeatLimit + 1}, "tasks[0].repeat.limit"},
		{job.Repeat{While: "outputs.parameters.x +", Limit: 2}, "tasks[0].repeat.while"},
	} {
		_, err := CompileRepeat("tasks[0].repeat", &b.r)
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != b.field {
			t.Errorf("%+v: err %v, want a field error on %s", b.r, err, b.field)
		}
	}
	// Parsed: limit is required, and the check runs at submit.
	_, err = spec.Parse([]byte("name: j\ntasks:\n- {name: flip, command: x, repeat: {while: 'outputs.parameters.r == \"t\"'}}\n"))
	if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "tasks[0].repeat.limit" {
		t.Fatalf("no limit: %v", err)
	}
	_, err = spec.Parse([]byte("name: j\ntasks:\n- {name: flip, command: x, repeat: {while: 'outputs.parameters.r ==', limit: 5}}\n"))
	if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "tasks[0].repeat.while" {
		t.Fatalf("bad while: %v", err)
	}
}

func TestWithParamParse(t *testing.T) {
	for _, c := range []struct{ doc, field, msg string }{
		{`{name: j, tasks: [{name: g, command: x}, {name: f, depends: [g], command: x, withParam: "[1,2]"}]}`, "tasks[1].withParam", "must be one output placeholder"},
		{`{name: j, tasks: [{name: g, command: x}, {name: f, depends: [g], command: x, withParam: "x {{tasks.g.outputs.parameters.l}}"}]}`, "tasks[1].withParam", "must be one output placeholder"},
		{`{name: j, tasks: [{name: g, command: x}, {name: f, depends: [g], command: x, withItems: [1], withParam: "{{tasks.g.outputs.parameters.l}}"}]}`, "tasks[1].withParam", "not both"},
		{`{name: j, tasks: [{name: g, command: x}, {name: f, command: x, withParam: "{{tasks.g.outputs.parameters.l}}"}]}`, "tasks[1].withParam", `task "g" is not upstream of "f"`},
	} {
		_, err := spec.Parse([]byte(c.doc))
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%s: err %v, want %s: …%s…", c.doc, err, c.field, c.msg)
		}
	}
	s, err := spec.Parse([]byte(`{name: j, tasks: [{name: g, command: x}, {name: f, depends: [g], command: "echo {{item}}", withParam: " {{ tasks.g.outputs.parameters.l }} "}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// The stored form parses again (instances: 1 is written out).
	b, _ := json.Marshal(s)
	if _, err := spec.Parse(b); err != nil {
		t.Fatalf("stored %s: %v", b, err)
	}
}

// Depends expressions read upstream outputs as NAME.outputs.parameters.P:
// the value of a succeeded task (a JSON list over several instances); an
// output of a task that did not succeed does not exist, and an expression
// that reads one skips the task naming it, unless the expression decided
// before reading it (a.failed || ...).
func TestDependsOnOutputs(t *testing.T) {
	g, err := Compile([]Node{
		{Name: "flip"}, {Name: "check"}, {Name: "split"},
		{Name: "heads", Expr: `flip.outputs.parameters.result == "heads"`},
		{Name: "heads-or-failed", Expr: `flip.failed || flip.outputs.parameters.result == "heads"`},
		{Name: "both", Expr: `check && int(flip.outputs.parameters.count) > 2`},
		{Name: "big", Expr: `len(fromJSON(split.outputs.parameters.n)) == 2 && "b" in fromJSON(split.outputs.parameters.n)`},
		{Name: "quoted", Expr: `flip.outputs.parameters.result == 'check && zz'`},
		{Name: "not-a-number", Expr: `int(flip.outputs.parameters.result) > 1`},
	})
	if err != nil {
		t.Fatal(err)
	}
	heads := map[string]string{"result": "heads", "count": "3"}
	for _, c := range []struct {
		name    string
		states  map[string]State
		outputs map[string]map[string]string // task -> instance 0's outputs
		want    map[string]Verdict
		reasons map[string]string
	}{
		{"flip running: an output is not known yet", map[string]State{"flip": Running, "check": Succeeded, "split": Running}, nil,
			map[string]Verdict{"heads": Wait, "heads-or-failed": Wait, "both": Wait, "big": Wait, "quoted": Wait}, nil},
		{"check failed skips both before flip ends", map[string]State{"flip": Running, "check": Failed}, nil,
			map[string]Verdict{"both": Skip}, map[string]string{"both": "depends can no longer hold"}},
		{"flip heads", map[string]State{"flip": Succeeded, "check": Succeeded}, map[string]map[string]string{"flip": heads},
			map[string]Verdict{"heads": Ready, "heads-or-failed": Ready, "both": Ready, "quoted": Skip, "not-a-number": Skip},
			map[string]string{"not-a-number": `depends "int(flip.outputs.parameters.result) > 1": failed: `}},
		{"flip tails", map[string]State{"flip": Succeeded, "check": Succeeded}, map[string]map[string]string{"flip": {"result": "tails", "count": "1"}},
			map[string]Verdict{"heads": Skip, "heads-or-failed": Skip, "both": Skip}, map[string]string{"heads": "depends can no longer hold"}},
		{"flip failed: its outputs do not exist", map[string]State{"flip": Failed, "check": Succeeded}, map[string]map[string]string{"flip": heads},
			map[string]Verdict{"heads": Skip, "heads-or-failed": Ready, "both": Skip},
			map[string]string{"heads": "flip.outputs.parameters.result does not exist: task flip failed (only a succeeded task has outputs)"}},
		{"flip succeeded without the output", map[string]State{"flip": Succeeded, "check": Succeeded}, map[string]map[string]string{"flip": {"count": "3"}},
			map[string]Verdict{"heads": Skip, "both": Ready},
			map[string]string{"heads": `task flip left no output "result"`}},
		{"over instances: a JSON list", map[string]State{"split": Succeeded}, map[string]map[string]string{"split": {"n": "a"}},
			map[string]Verdict{"big": Ready}, nil},
	} {
		var o Outputs
		for task, vs := range c.outputs {
			o.Record(task, 1, 0, vs)
		}
		if c.name == "over instances: a JSON list" {
			o = Outputs{}
			o.Record("split", 2, 0, map[string]string{"n": "a"})
			o.Record("split", 2, 1, map[string]string{"n": "b"})
		}
		ds, err := g.Evaluate(c.states, nil, Options{Outputs: &o})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for k, v := range c.want {
			if ds[k].Verdict != v {
				t.Errorf("%s: %s = %+v, want %s", c.name, k, ds[k], v)
			}
		}
		for k, r := range c.reasons {
			if !strings.Contains(ds[k].Reason, r) {
				t.Errorf("%s: %s's reason %q, want …%s…", c.name, k, ds[k].Reason, r)
			}
		}
	}
}

func TestDependsOutputRefsAtSubmit(t *testing.T) {
	s, err := spec.Parse([]byte(`
name: j
tasks:
- {name: flip, command: "true"}
- {name: other, command: "true"}
- {name: heads, command: "true", depends: 'flip.outputs.parameters.result == "heads" && other'}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := Referenced(s); len(got) != 1 || got[0] != "flip" {
		t.Fatalf("Referenced = %v, want [flip] (its outputs must be kept for depends)", got)
	}
	for _, c := range []struct{ name, depends, msg string }{
		{"unknown task", `zz.outputs.parameters.x == "1"`, `unknown task "zz"`},
		{"bad name", `flip.outputs.parameters.-x == "1"`, "not an output parameter name"},
		{"not boolean", `flip.outputs.parameters.x`, "bad expression"},
		{"unknown field", `flip.outputs.result == "1"`, `unknown outcome "outputs"`},
	} {
		_, err := spec.Parse([]byte(`
name: j
tasks:
- {name: flip, command: "true"}
- {name: b, command: "true", depends: '` + c.depends + `'}
`))
		fe, ok := spec.AsFieldError(err)
		if !ok || fe.Field != "tasks[1].depends" || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%s: err %v, want tasks[1].depends: …%s…", c.name, err, c.msg)
		}
	}
}
