package dag

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// submitDepends builds a two-task job whose second task depends on expr,
// as JSON (so the YAML layer passes the string through untouched).
func submitDepends(t *testing.T, field, expression string) error {
	t.Helper()
	doc := map[string]any{"name": "j", "tasks": []any{
		map[string]any{"name": "a", "command": "true"},
		map[string]any{"name": "b", "command": "true", field: expression},
	}}
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = spec.Parse(body)
	return err
}

// Issue 10 finding 1: a 1 MB depends of "!"s ended the process with a
// stack overflow in the expression parser; 200,000 nested "(" took
// seconds. Both are refused by a linear scan before the parser runs.
func TestSubmitRefusesExpressionBombsBeforeParsing(t *testing.T) {
	for _, c := range []struct {
		name, field, expr, wantField, wantMsg string
	}{
		{"million nots", "depends", strings.Repeat("!", 1_000_000) + "a", "tasks[1].depends", "longer than"},
		{"deep parens", "depends", strings.Repeat("(", 200_000) + "a" + strings.Repeat(")", 200_000), "tasks[1].depends", "longer than"},
		{"nots under the length cap", "depends", strings.Repeat("!", spec.MaxExprDepth+1) + "a", "tasks[1].depends", "nested deeper than"},
		{"parens under the length cap", "depends", strings.Repeat("(", spec.MaxExprDepth+1) + "a" + strings.Repeat(")", spec.MaxExprDepth+1), "tasks[1].depends", "nested deeper than"},
		{"when nots", "when", strings.Repeat("not ", spec.MaxExprDepth+1) + "true", "tasks[1].when", "nested deeper than"},
		{"when brackets", "when", strings.Repeat("[", spec.MaxExprDepth+1) + strings.Repeat("]", spec.MaxExprDepth+1) + " == nil", "tasks[1].when", "nested deeper than"},
		{"when long", "when", `params.x == "` + strings.Repeat("y", spec.MaxExprBytes) + `"`, "tasks[1].when", "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := submitDepends(t, c.field, c.expr)
			fe, ok := spec.AsFieldError(err)
			if !ok {
				t.Fatalf("want a FieldError on %s, got %v", c.wantField, err)
			}
			if fe.Field != c.wantField || !strings.Contains(fe.Msg, c.wantMsg) {
				t.Fatalf("got %s: %s; want %s: ...%s...", fe.Field, fe.Msg, c.wantField, c.wantMsg)
			}
		})
	}
}

// Expressions at the limits still compile: the limits refuse bombs, not
// real DAGs.
func TestExpressionsWithinLimitsCompile(t *testing.T) {
	depth := spec.MaxExprDepth
	for _, c := range []struct{ name, field, expr string }{
		{"nested parens at the limit", "depends", strings.Repeat("(", depth) + "a" + strings.Repeat(")", depth)},
		{"nots at the limit", "depends", strings.Repeat("!", depth) + "a"},
		{"long and flat", "depends", "a" + strings.Repeat(" && a", (spec.MaxExprBytes-1)/5)},
		{"parens inside a string do not nest", "when", `params.x == "` + strings.Repeat("(", 2*depth) + `"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := submitDepends(t, c.field, c.expr); err != nil {
				t.Fatal(err)
			}
		})
	}
}
