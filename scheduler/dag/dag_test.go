package dag

import (
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func diamond(t *testing.T) *Graph {
	t.Helper()
	g, err := Compile([]Node{
		{Name: "a"},
		{Name: "b", Depends: []string{"a"}},
		{Name: "c", Depends: []string{"a"}},
		{Name: "d", Expr: "b && c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func verdicts(t *testing.T, g *Graph, states map[string]State, params map[string]string, opt Options) map[string]Verdict {
	t.Helper()
	ds, err := g.Evaluate(states, params, opt)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Verdict{}
	for k, d := range ds {
		out[k] = d.Verdict
	}
	return out
}

func same(a, b map[string]Verdict) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDiamond(t *testing.T) {
	g := diamond(t)
	if got := strings.Join(g.Order(), ","); got != "a,b,c,d" {
		t.Errorf("order %s", got)
	}
	if got := strings.Join(g.Upstream("d"), ","); got != "a,b,c" {
		t.Errorf("upstream of d: %s", got)
	}
	for _, c := range []struct {
		name   string
		states map[string]State
		opt    Options
		want   map[string]Verdict
	}{
		{"start", nil, Options{}, map[string]Verdict{"a": Ready, "b": Wait, "c": Wait, "d": Wait}},
		{"a running", map[string]State{"a": Running}, Options{}, map[string]Verdict{"a": None, "b": Wait, "c": Wait, "d": Wait}},
		{"a done", map[string]State{"a": Succeeded}, Options{}, map[string]Verdict{"a": None, "b": Ready, "c": Ready, "d": Wait}},
		{"b done, c running", map[string]State{"a": Succeeded, "b": Succeeded, "c": Running}, Options{}, map[string]Verdict{"a": None, "b": None, "c": None, "d": Wait}},
		{"both done", map[string]State{"a": Succeeded, "b": Succeeded, "c": Succeeded}, Options{}, map[string]Verdict{"a": None, "b": None, "c": None, "d": Ready}},
		{"b failed: d skipped without waiting for c", map[string]State{"a": Succeeded, "b": Failed, "c": Running}, Options{}, map[string]Verdict{"a": None, "b": None, "c": None, "d": Skip}},
		{"a failed: all skipped", map[string]State{"a": Failed}, Options{}, map[string]Verdict{"a": None, "b": Skip, "c": Skip, "d": Skip}},
		{"failFast: c failed", map[string]State{"a": Succeeded, "c": Failed}, Options{FailFast: true}, map[string]Verdict{"a": None, "b": Skip, "c": None, "d": Skip}},
		{"b skipped propagates", map[string]State{"a": Succeeded, "b": Skipped, "c": Succeeded}, Options{}, map[string]Verdict{"a": None, "b": None, "c": None, "d": Skip}},
	} {
		if got := verdicts(t, g, c.states, nil, c.opt); !same(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestExpressions(t *testing.T) {
	g, err := Compile([]Node{
		{Name: "extract-a"}, {Name: "b"}, {Name: "c"},
		{Name: "either", Expr: "extract-a.succeeded || b.failed"},
		{Name: "not-c", Expr: "!c.failed"},
		{Name: "words", Expr: "extract-a and not b.killed"},
		{Name: "cleanup", Expr: "(extract-a.ended && b.ended) || c.skipped"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		states map[string]State
		want   map[string]Verdict
	}{
		{"nothing ended", nil, map[string]Verdict{"either": Wait, "not-c": Wait, "words": Wait, "cleanup": Wait}},
		{"ready only once every referenced task ended", map[string]State{"extract-a": Succeeded, "b": Running, "c": Running},
			map[string]Verdict{"either": Wait, "not-c": Wait, "words": Wait, "cleanup": Wait}},
		{"b killed skips words early", map[string]State{"extract-a": Running, "b": Killed},
			map[string]Verdict{"either": Wait, "words": Skip}},
		{"a failed, b failed", map[string]State{"extract-a": Failed, "b": Failed, "c": Succeeded},
			map[string]Verdict{"either": Ready, "not-c": Ready, "words": Skip, "cleanup": Ready}},
		{"a failed, b succeeded, c failed", map[string]State{"extract-a": Failed, "b": Succeeded, "c": Failed},
			map[string]Verdict{"either": Skip, "not-c": Skip, "words": Skip, "cleanup": Ready}},
		{"c skipped", map[string]State{"extract-a": Running, "b": Pending, "c": Skipped},
			map[string]Verdict{"either": Wait, "not-c": Ready, "words": Wait, "cleanup": Wait}},
	} {
		got := verdicts(t, g, c.states, nil, Options{})
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s = %s, want %s", c.name, k, got[k], v)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		nodes []Node
		field string
		msg   string
	}{
		{"unknown list dep", []Node{{Name: "a", Depends: []string{"zz"}}}, "tasks[0].depends[0]", `unknown task "zz"`},
		{"unknown expr dep", []Node{{Name: "a"}, {Name: "b", Expr: "a && zz"}}, "tasks[1].depends", `unknown task "zz"`},
		{"unknown outcome", []Node{{Name: "a"}, {Name: "b", Expr: "a.exploded"}}, "tasks[1].depends", `unknown outcome "exploded"`},
		{"self", []Node{{Name: "a", Expr: "a.failed"}}, "tasks[0].depends", "depends on itself"},
		{"both forms", []Node{{Name: "a"}, {Name: "b", Depends: []string{"a"}, Expr: "a"}}, "tasks[1].depends", "not both"},
		{"syntax", []Node{{Name: "a"}, {Name: "b", Expr: "a &&"}}, "tasks[1].depends", "bad expression"},
		{"not boolean", []Node{{Name: "a"}, {Name: "b"}, {Name: "x", Expr: "a.succeeded + b.failed"}}, "tasks[2].depends", "bad expression"},
		{"string alone", []Node{{Name: "a"}, {Name: "b", Expr: `a || "x"`}}, "tasks[1].depends", "bad expression"},
		{"unterminated string", []Node{{Name: "a"}, {Name: "b", Expr: `a.outputs.parameters.x == "x`}}, "tasks[1].depends", "unterminated string"},
		{"output of an unknown task", []Node{{Name: "a"}, {Name: "b", Expr: `zz.outputs.parameters.x == "1"`}}, "tasks[1].depends", `unknown task "zz"`},
		{"bad output name", []Node{{Name: "a"}, {Name: "b", Expr: `a.outputs.parameters.9x == "1"`}}, "tasks[1].depends", "not an output parameter name"},
		{"own output", []Node{{Name: "a", Expr: `a.outputs.parameters.x == "1"`}}, "tasks[0].depends", "depends on itself"},
		{"output not compared", []Node{{Name: "a"}, {Name: "b", Expr: `a.outputs.parameters.x`}}, "tasks[1].depends", "bad expression"},
		{"duplicate", []Node{{Name: "a"}, {Name: "a"}}, "tasks[1].name", "duplicate"},
		{"duplicate dep", []Node{{Name: "a"}, {Name: "b", Depends: []string{"a", "a"}}}, "tasks[1].depends[1]", "duplicate dependency"},
		{"bad when", []Node{{Name: "a", When: "params.x =="}}, "tasks[0].when", "bad condition"},
		{"when not bool", []Node{{Name: "a", When: "params.x"}}, "tasks[0].when", "bad condition"},
		{"cycle", []Node{{Name: "a", Depends: []string{"c"}}, {Name: "b", Depends: []string{"a"}}, {Name: "c", Expr: "b || a.failed"}}, "tasks[0].depends", "dependency cycle: a -> c -> a"},
		{"long cycle", []Node{{Name: "x"}, {Name: "a", Depends: []string{"x", "b"}}, {Name: "b", Depends: []string{"c"}}, {Name: "c", Depends: []string{"a"}}}, "tasks[1].depends", "dependency cycle: a -> b -> c -> a"},
	} {
		_, err := Compile(c.nodes)
		fe, ok := spec.AsFieldError(err)
		if !ok || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%s: got %v, want %s: ...%s...", c.name, err, c.field, c.msg)
		}
	}
}

func TestFailFastAndContinueOn(t *testing.T) {
	g, err := Compile([]Node{
		{Name: "a"},
		{Name: "b"},
		{Name: "flaky", ContinueOnFailed: true},
		{Name: "after-a", Depends: []string{"a"}},
		{Name: "after-b", Depends: []string{"b"}},
		{Name: "after-flaky", Depends: []string{"flaky"}},
		{Name: "on-error", Expr: "a.failed"},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]State{"a": Failed, "b": Succeeded, "flaky": Failed}
	cont := verdicts(t, g, st, nil, Options{})
	want := map[string]Verdict{"a": None, "b": None, "flaky": None, "after-a": Skip, "after-b": Ready, "after-flaky": Ready, "on-error": Ready}
	if !same(cont, want) {
		t.Errorf("continue: got %v, want %v", cont, want)
	}
	ff := verdicts(t, g, st, nil, Options{FailFast: true})
	want = map[string]Verdict{"a": None, "b": None, "flaky": None, "after-a": Skip, "after-b": Skip, "after-flaky": Skip, "on-error": Ready}
	if !same(ff, want) {
		t.Errorf("failFast: got %v, want %v", ff, want)
	}
	// A continueOn failure alone does not halt anything.
	ff = verdicts(t, g, map[string]State{"flaky": Failed, "b": Succeeded}, nil, Options{FailFast: true})
	if ff["after-b"] != Ready || ff["after-flaky"] != Ready || ff["after-a"] != Wait {
		t.Errorf("continueOn under failFast: %v", ff)
	}
	if got := g.Failing(st); len(got) != 1 || got[0] != "a" {
		t.Errorf("Failing = %v, want [a]", got)
	}
}

func TestWhen(t *testing.T) {
	g, err := Compile([]Node{
		{Name: "a"},
		{Name: "prod-only", Depends: []string{"a"}, When: `params.env == "prod"`},
		{Name: "big", When: `int(inputs.parameters.shards) > 4`},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		params map[string]string
		states map[string]State
		want   map[string]Verdict
	}{
		{map[string]string{"env": "prod", "shards": "8"}, map[string]State{"a": Succeeded}, map[string]Verdict{"prod-only": Ready, "big": Ready}},
		{map[string]string{"env": "dev", "shards": "2"}, map[string]State{"a": Succeeded}, map[string]Verdict{"prod-only": Skip, "big": Skip}},
		// when is only looked at once the dependencies are satisfied.
		{map[string]string{"env": "dev", "shards": "8"}, nil, map[string]Verdict{"prod-only": Wait, "big": Ready}},
	} {
		got := verdicts(t, g, c.states, c.params, Options{})
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("params %v: %s = %s, want %s", c.params, k, got[k], v)
			}
		}
	}
}

// Issue 10 finding 8: a when that failed when evaluated left the job
// pending forever with no reason. At submit it is refused (the params are
// known then); a stored job whose condition fails has the task skipped,
// the expression and the error as its reason.
func TestWhenThatCannotBeEvaluated(t *testing.T) {
	g, err := Compile([]Node{{Name: "a"}, {Name: "big", Depends: []string{"a"}, When: `int(params.shards) > 4`}})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := g.Evaluate(map[string]State{"a": Succeeded}, map[string]string{"shards": "many"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := ds["big"]; d.Verdict != Skip || !strings.Contains(d.Reason, `when "int(params.shards) > 4" failed`) || !strings.Contains(d.Reason, "many") {
		t.Fatalf("decision %+v", d)
	}

	_, err = spec.Parse([]byte("name: j\nparams: {shards: many}\ntasks: [{name: a, command: x}, {name: big, command: x, depends: [a], when: 'int(params.shards) > 4'}]"))
	fe, ok := spec.AsFieldError(err)
	if !ok || fe.Field != "tasks[1].when" || !strings.Contains(fe.Msg, "cannot be evaluated with the job's params") {
		t.Fatalf("submit: got %v", err)
	}
	if _, err := spec.Parse([]byte("name: j\nparams: {shards: '8'}\ntasks: [{name: a, command: x}, {name: big, command: x, depends: [a], when: 'int(params.shards) > 4'}]")); err != nil {
		t.Fatalf("submit with good params: %v", err)
	}
}

// Property: an early skip is never contradicted once every dependency has
// ended, and a task is ready only when every dependency has ended.
func TestEarlyDecisionIsFinal(t *testing.T) {
	exprs := []string{"a && b", "a || b", "a.failed || b.succeeded && !c.killed", "!(a.ended && c.skipped)", "a.failed && b.failed && c.failed", "c"}
	states := []State{Pending, Running, Succeeded, Failed, Killed, Skipped}
	for _, e := range exprs {
		g, err := Compile([]Node{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "x", Expr: e}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 6*6*6; i++ {
			st := map[string]State{"a": states[i%6], "b": states[i/6%6], "c": states[i/36]}
			early := verdicts(t, g, st, nil, Options{})["x"]
			allEnded := true
			for _, d := range g.Dependencies("x") {
				allEnded = allEnded && st[d].Ended()
			}
			if early == Ready && !allEnded {
				t.Fatalf("%s: %v ready before every dependency ended", e, st)
			}
			if early == Wait {
				continue
			}
			// Every completion of the unfinished tasks must agree.
			for j := 0; j < 4*4*4; j++ {
				fin := map[string]State{}
				for k, n := range []string{"a", "b", "c"} {
					fin[n] = st[n]
					if !st[n].Ended() {
						fin[n] = ended[j>>(2*k)&3]
					}
				}
				if got := verdicts(t, g, fin, nil, Options{})["x"]; got != early {
					t.Fatalf("%s: %v decided %s early, but %v gives %s", e, st, early, fin, got)
				}
			}
		}
	}
}

func TestFromSpecAndIsExpr(t *testing.T) {
	s := &job.Spec{Name: "x", Tasks: []job.TaskSpec{{Name: "a"}, {Name: "b", Depends: []string{"a"}}}}
	g, err := FromSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Dependencies("b"); len(d) != 1 || d[0] != "a" {
		t.Errorf("Dependencies(b) = %v", d)
	}
	if FromJob(job.Succeeded) != Succeeded {
		t.Error("FromJob")
	}
	for s, want := range map[string]bool{"a": false, "extract-1": false, "a && b": true, "a.failed": true, "!c": true} {
		if IsExpr(s) != want {
			t.Errorf("IsExpr(%q) = %v", s, !want)
		}
	}
}

func TestParseDepends(t *testing.T) {
	for _, c := range []struct {
		in    any
		list  []string
		expr  string
		field string
	}{
		{nil, nil, "", ""},
		{"a", []string{"a"}, "", ""},
		{" a && b ", nil, "a && b", ""},
		{[]any{"a", "b-1"}, []string{"a", "b-1"}, "", ""},
		{[]any{"a", 3.0}, nil, "", "tasks[1].depends[1]"},
		{[]any{"a && b"}, nil, "", "tasks[1].depends[0]"},
		{"", nil, "", "tasks[1].depends"},
		{map[string]any{}, nil, "", "tasks[1].depends"},
	} {
		l, e, err := ParseDepends("tasks[1].depends", c.in)
		if c.field != "" {
			if fe, ok := spec.AsFieldError(err); !ok || fe.Field != c.field {
				t.Errorf("%v: got %v, want field %s", c.in, err, c.field)
			}
			continue
		}
		if err != nil || e != c.expr || strings.Join(l, ",") != strings.Join(c.list, ",") {
			t.Errorf("%v: %v %q %v", c.in, l, e, err)
		}
	}
}

func TestSpecCheckRejectsExpressionCycle(t *testing.T) {
	_, err := spec.Parse([]byte(`name: a
tasks:
- {name: p, command: "true", depends: "r.failed || q"}
- {name: q, command: "true", depends: [p]}
- {name: r, command: "true"}
`))
	if fe, ok := spec.AsFieldError(err); !ok || !strings.Contains(fe.Msg, "cycle") {
		t.Fatalf("got %v", err)
	}
	_, err = spec.Parse([]byte("name: a\ntasks: [{name: x, command: \"true\", depends: \"nope && \"}]"))
	if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "tasks[0].depends" {
		t.Fatalf("got %v", err)
	}
	_, err = spec.Parse([]byte("name: a\ntasks: [{name: x, command: \"true\", when: \"params.x ==\"}]"))
	if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "tasks[0].when" {
		t.Fatalf("got %v", err)
	}
}
