package placement

import (
	"errors"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
)

func TestParseConstraintsErrors(t *testing.T) {
	cases := []struct {
		name  string
		raw   [][]string
		field string
		msg   string
	}{
		{"too short", [][]string{{"zone"}}, "constraints[0]", "got 1 elements"},
		{"too long", [][]string{{"a", "IS", "b", "c"}}, "constraints[0]", "got 4 elements"},
		{"bad field", [][]string{{"hostname", "UNIQUE"}, {"bad field", "IS", "x"}}, "constraints[1]", "field"},
		{"unknown op", [][]string{{"zone", "NEAR", "x"}}, "constraints[0]", `unknown operator "NEAR"`},
		{"unique with value", [][]string{{"hostname", "UNIQUE", "x"}}, "constraints[0]", "takes no value"},
		{"is without value", [][]string{{"zone", "IS"}}, "constraints[0]", "needs a value"},
		{"bad regex", [][]string{{"zone", "IS", "a"}, {"zone", "IS", "b"}, {"rack", "LIKE", "a("}}, "constraints[2]", "not a valid regular expression"},
		{"like empty", [][]string{{"rack", "LIKE"}}, "constraints[0]", "needs a regular expression"},
		{"max_per zero", [][]string{{"rack", "MAX_PER", "0"}}, "constraints[0]", "positive integer"},
		{"max_per text", [][]string{{"rack", "MAX_PER", "two"}}, "constraints[0]", "positive integer"},
		{"group_by text", [][]string{{"zone", "GROUP_BY", "x"}}, "constraints[0]", "positive integer"},
		{"exists value", [][]string{{"gpu", "EXISTS", "1"}}, "constraints[0]", "takes no value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConstraints(tc.raw)
			var fe *fielderr.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want *fielderr.FieldError, got %v", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Fatalf("got field %q msg %q, want %q containing %q", fe.Field, fe.Msg, tc.field, tc.msg)
			}
		})
	}
}

func TestParseConstraintsKinds(t *testing.T) {
	cs := MustParseConstraints(
		[]string{"zone", "is", "a"}, // operator case-insensitive
		[]string{"hostname", "LIKE", "web-.*"},
		[]string{"hostname", "UNIQUE"},
		[]string{"rack", "CLUSTER", "r1"},
		[]string{"rack", "CLUSTER"},
		[]string{"zone", "GROUP_BY", "3"},
	)
	if got, want := len(cs.classIdx), 2; got != want { // zone IS, rack CLUSTER r1
		t.Fatalf("class constraints %d, want %d", got, want)
	}
	if got, want := len(cs.hostIdx), 1; got != want {
		t.Fatalf("host constraints %d, want %d", got, want)
	}
	if got, want := len(cs.countingIdx), 3; got != want {
		t.Fatalf("counting constraints %d, want %d", got, want)
	}
	if cs.List[5].n != 3 || cs.List[0].Reason() != "constraint zone IS a" || cs.List[2].Reason() != "constraint hostname UNIQUE" {
		t.Fatalf("compiled wrong: %+v", cs.List)
	}
	if cs, err := ParseConstraints(nil); cs != nil || err != nil {
		t.Fatalf("empty list: %v %v", cs, err)
	}
	if _, err := ParseConstraintsJSON([]byte(`[["zone","IS"]]`)); err == nil || !strings.Contains(err.Error(), "constraints[0]") {
		t.Fatalf("json: %v", err)
	}
	if _, err := ParseConstraintsJSON([]byte(`{"zone":1}`)); err == nil || !strings.HasPrefix(err.Error(), "constraints:") {
		t.Fatalf("json shape: %v", err)
	}
}

// TestStaticOperators checks each attribute operator against present and
// missing attributes.
func TestStaticOperators(t *testing.T) {
	attrs := map[string]string{"zone": "eu-1", "rack": "r12", "ssd": "true"}
	cases := []struct {
		c    []string
		want bool
	}{
		{[]string{"zone", "IS", "eu-1"}, true},
		{[]string{"zone", "IS", "eu"}, false},
		{[]string{"nope", "IS", "x"}, false},
		{[]string{"zone", "LIKE", "eu-.*"}, true},
		{[]string{"zone", "LIKE", "eu"}, false}, // anchored: whole value
		{[]string{"nope", "LIKE", ".*"}, false},
		{[]string{"zone", "UNLIKE", "us-.*"}, true},
		{[]string{"zone", "UNLIKE", "eu-1|us-1"}, false},
		{[]string{"nope", "UNLIKE", "x"}, true},
		{[]string{"ssd", "EXISTS"}, true},
		{[]string{"gpu", "EXISTS"}, false},
		{[]string{"gpu", "NOT_EXISTS"}, true},
		{[]string{"ssd", "NOT_EXISTS"}, false},
		{[]string{"rack", "CLUSTER", "r12"}, true},
		{[]string{"rack", "CLUSTER", "r13"}, false},
		{[]string{"hostname", "IS", "h1"}, true},
		{[]string{"hostname", "LIKE", "h[0-9]+"}, true},
		{[]string{"hostname", "UNLIKE", "h1"}, false},
		// counting operators only need the field here
		{[]string{"rack", "UNIQUE"}, true},
		{[]string{"nope", "GROUP_BY"}, false},
		{[]string{"hostname", "MAX_PER", "2"}, true},
	}
	for _, tc := range cases {
		cs := MustParseConstraints(tc.c)
		if got := cs.List[0].Satisfies(attrs, "h1"); got != tc.want {
			t.Errorf("%v: got %v want %v", tc.c, got, tc.want)
		}
	}
}
