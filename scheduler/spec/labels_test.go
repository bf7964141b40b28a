package spec

import (
	"strings"
	"testing"
)

func TestJobLabels(t *testing.T) {
	sp, err := Parse([]byte("name: x\nlabels: {team: data, tier: 2}\ntasks: [{name: a, command: 'true'}]"))
	if err != nil || sp.Labels["team"] != "data" || sp.Labels["tier"] != "2" {
		t.Fatalf("labels: %v %v", sp, err)
	}
	var many strings.Builder
	for i := range MaxJobLabels + 1 {
		many.WriteString("k" + strings.Repeat("x", i) + ": v\n  ")
	}
	for _, tc := range []struct{ doc, field string }{
		{"labels: {'bad key': x}", "labels.bad key"},
		{"labels: {k: " + strings.Repeat("v", MaxLabelValueLen+1) + "}", "labels.k"},
		{"labels: [a]", "labels"},
		{"labels:\n  " + many.String(), "labels"},
	} {
		_, err := Parse([]byte("name: x\n" + tc.doc + "\ntasks: [{name: a, command: 'true'}]"))
		if fe, ok := AsFieldError(err); !ok || fe.Field != tc.field {
			t.Errorf("%.40s: %v; want an error on %s", tc.doc, err, tc.field)
		}
	}
}

func TestUnknownFieldSaysDidYouMean(t *testing.T) {
	for _, tc := range []struct{ doc, field, want string }{
		{"name: x\ntask: [{name: a, command: 'true'}]", "task", `did you mean "tasks"?`},
		{"name: x\npriorty: 3\ntasks: [{name: a, command: 'true'}]", "priorty", `did you mean "priority"?`},
		{"name: x\ntasks: [{name: a, comand: 'true'}]", "tasks[0].comand", `did you mean "command"?`},
		{"name: x\ntasks: [{name: a, command: 'true', Instances: 2}]", "tasks[0].Instances", `did you mean "instances"?`},
		{"name: x\ntasks: [{name: a, command: 'true', zzzzzz: 2}]", "tasks[0].zzzzzz", ""},
	} {
		_, err := Parse([]byte(tc.doc))
		fe, ok := AsFieldError(err)
		if !ok || fe.Field != tc.field || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("%q: %v; want unknown field %s", tc.doc, err, tc.field)
			continue
		}
		if got := strings.Contains(err.Error(), "did you mean"); got != (tc.want != "") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want %q", tc.doc, err, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	known := []string{"name", "tasks", "priority", "user", "queue", "labels", "schedule"}
	for _, tc := range []struct{ in, want string }{
		{"nmae", "name"}, {"tsks", "tasks"}, {"shedule", "schedule"}, {"lables", "labels"},
		{"usr", "user"}, {"xyz", ""}, {"completely-different", ""}, {strings.Repeat("a", 10000), ""},
	} {
		if got := Nearest(tc.in, known); got != tc.want {
			t.Errorf("Nearest(%.20q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
