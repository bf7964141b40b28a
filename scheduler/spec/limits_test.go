package spec

import (
	"strings"
	"testing"
)

func TestExprDepth(t *testing.T) {
	for _, c := range []struct {
		expr string
		want int
	}{
		{"", 0},
		{"a", 0},
		{"a && b || c", 0},
		{"!a && !b && !c && !d", 1},
		{"!!a", 2},
		{"not not a", 2},
		{"- -1", 2},
		{"a - -1", 1},
		{"(a)", 1},
		{"((a) && (b))", 2},
		{"!(!(a))", 4},
		{"a ? b : c ? d : e", 2},
		{"a?.b ?? c", 0},
		{"a != b", 0},
		{`params.x == "((((!!!!"`, 0},
		{`params.x == "a\"(("`, 0},
		{"[[1], [2]]", 2},
		{"if a { b } else { c }", 2},
		{")))(", 1}, // unbalanced: the parser reports it
	} {
		if got := exprDepth(c.expr); got != c.want {
			t.Errorf("exprDepth(%q) = %d, want %d", c.expr, got, c.want)
		}
	}
}

func TestCheckExprNamesFieldAndLimit(t *testing.T) {
	err := CheckExpr("tasks[3].when", strings.Repeat("(", MaxExprDepth+1))
	fe, ok := AsFieldError(err)
	if !ok || fe.Field != "tasks[3].when" || !strings.Contains(fe.Msg, "nested deeper than 64") {
		t.Fatalf("got %v", err)
	}
	err = CheckExpr("tasks[0].depends", strings.Repeat("a", MaxExprBytes+1))
	if fe, ok := AsFieldError(err); !ok || fe.Field != "tasks[0].depends" || !strings.Contains(fe.Msg, "longer than the 8192 allowed") {
		t.Fatalf("got %v", err)
	}
	if err := CheckExpr("x", strings.Repeat("a", MaxExprBytes)); err != nil {
		t.Fatalf("an expression of exactly MaxExprBytes is allowed: %v", err)
	}
}
