package dag

import (
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

var fuzzTasks = []string{"a", "b-1", "c_2"}

// FuzzDepends compiles a depends expression over three tasks and
// evaluates it under every combination of their states. It must never
// panic or run away; a refusal is a *fielderr.FieldError on the expression;
// an accepted expression always evaluates.
func FuzzDepends(f *testing.F) {
	for _, s := range []string{"a", "a && b-1", "a.failed || c_2.ended", "!(a.succeeded) and not b-1.skipped", "(a || b-1) && !c_2.killed",
		strings.Repeat("!", 1_000_000) + "a", strings.Repeat("(", 200_000) + "a" + strings.Repeat(")", 200_000),
		strings.Repeat("!", spec.MaxExprDepth) + "a", "a ? b-1 : c_2", `a && "x"`, `a.outputs.parameters.x == "1" || b-1.failed`, `int(c_2.outputs.parameters.n) > 2 && a`, `int("x") > 1 || a`, `a.outputs.parameters.x in ["a", 'b\'']`, "a.bogus", "zz", "a &&"} {
		f.Add(s)
	}
	states := []State{Pending, Running, Succeeded, Failed, Killed, Skipped}
	f.Fuzz(func(t *testing.T, expression string) {
		nodes := []Node{{Name: "a"}, {Name: "b-1"}, {Name: "c_2"}, {Name: "d", Expr: expression}}
		g, err := Compile(nodes)
		if err != nil {
			if fe, ok := spec.AsFieldError(err); !ok || !strings.HasPrefix(fe.Field, "tasks[3].") && !strings.HasPrefix(fe.Field, "tasks[") {
				t.Fatalf("refusal %T %v is not a *fielderr.FieldError on a task", err, err)
			}
			return
		}
		for k := 0; k < len(states)*len(states)*len(states); k++ {
			st := map[string]State{}
			for i, n := range fuzzTasks {
				st[n] = states[k/pow(len(states), i)%len(states)]
			}
			ds, err := g.Evaluate(st, nil, Options{FailFast: k%2 == 0})
			if err != nil {
				t.Fatalf("compiled %q but Evaluate(%v): %v", expression, st, err)
			}
			if _, ok := ds["d"]; !ok {
				t.Fatalf("no decision for d under %v", st)
			}
		}
	})
}

// FuzzWhen compiles a when condition, checks it against the job's params
// as submit does, and evaluates it. It must never panic or run away; a
// condition that passed the submit check evaluates without error.
func FuzzWhen(f *testing.F) {
	for _, c := range [][2]string{
		{`params.env == "prod"`, "prod"}, {`int(inputs.parameters.env) > 4`, "8"}, {`int(params.env) > 4`, "many"},
		{strings.Repeat("not ", 100_000) + "true", ""}, {strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + " == nil", ""},
		{`len(1..100000000) > 0`, ""}, {`upper(repeat(params.env, 100000000)) == ""`, "ab"}, {`params.env matches "(a+)+$"`, strings.Repeat("a", 64) + "!"},
		{`1 / 0 == 1`, ""}, {`params`, ""}, {`true ? false : true`, ""},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, when, env string) {
		g, err := Compile([]Node{{Name: "a"}, {Name: "b", Depends: []string{"a"}, When: when}})
		if err != nil {
			if _, ok := spec.AsFieldError(err); !ok {
				t.Fatalf("refusal %T %v is not a *fielderr.FieldError", err, err)
			}
			return
		}
		params := map[string]string{"env": env}
		checked := g.CheckWhen(params) == nil
		ds, err := g.Evaluate(map[string]State{"a": Succeeded}, params, Options{})
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		d := ds["b"]
		if d.Verdict != Ready && d.Verdict != Skip {
			t.Fatalf("verdict %+v", d)
		}
		if checked && strings.Contains(d.Reason, "failed:") && strings.HasPrefix(d.Reason, "when ") {
			t.Fatalf("CheckWhen passed but evaluation failed: %s", d.Reason)
		}
	})
}

func pow(b, e int) int {
	r := 1
	for range e {
		r *= b
	}
	return r
}
