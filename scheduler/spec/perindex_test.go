package spec

import (
	"strings"
	"testing"
)

func TestPerIndexFields(t *testing.T) {
	s, err := Parse([]byte("name: a\ntasks: [{name: b, command: x, instances: 20, backoffLimitPerIndex: 2, maxFailedIndexes: 3}]"))
	if err != nil {
		t.Fatal(err)
	}
	tk := s.Tasks[0]
	if tk.BackoffLimitPerIndex == nil || *tk.BackoffLimitPerIndex != 2 || tk.Retries != 2 || tk.MaxFailedIndexes == nil || *tk.MaxFailedIndexes != 3 {
		t.Fatalf("task %+v", tk)
	}
	s, err = Parse([]byte("name: a\ntasks: [{name: b, command: x, instances: 4, backoffLimitPerIndex: 0}]"))
	if err != nil || s.Tasks[0].MaxFailedIndexes != nil || s.Tasks[0].Retries != 0 {
		t.Fatalf("without maxFailedIndexes: %+v, %v", s, err)
	}
	// As stored: retries equal to backoffLimitPerIndex parses again.
	if _, err := Parse([]byte("name: a\ntasks: [{name: b, command: x, instances: 4, retries: 2, backoffLimitPerIndex: 2}]")); err != nil {
		t.Fatalf("stored form: %v", err)
	}
	for _, c := range []struct{ task, field, msg string }{
		{"instances: 4, maxFailedIndexes: 1", "tasks[0].maxFailedIndexes", "needs backoffLimitPerIndex"},
		{"instances: 4, backoffLimitPerIndex: -1", "tasks[0].backoffLimitPerIndex", "must be >= 0, got -1"},
		{"instances: 4, backoffLimitPerIndex: 1, maxFailedIndexes: -2", "tasks[0].maxFailedIndexes", "must be >= 0, got -2"},
		{"instances: 4, backoffLimitPerIndex: 1, maxFailedIndexes: 5", "tasks[0].maxFailedIndexes", "must be <= instances (4), got 5"},
		{"instances: 4, backoffLimitPerIndex: 1.5", "tasks[0].backoffLimitPerIndex", ""},
		{"instances: 4, backoffLimitPerIndex: many", "tasks[0].backoffLimitPerIndex", ""},
		{"instances: 4, retries: 2, backoffLimitPerIndex: 1", "tasks[0].backoffLimitPerIndex", "give retries or backoffLimitPerIndex, not both"},
		{"instances: 4, completions: 2, backoffLimitPerIndex: 1", "tasks[0].backoffLimitPerIndex", "not with completions"},
		{"instances: 4, restart: Always, backoffLimitPerIndex: 1", "tasks[0].backoffLimitPerIndex", "not with restart Always"},
		{"instances: 4, backofLimitPerIndex: 1", "tasks[0].backofLimitPerIndex", `did you mean "backoffLimitPerIndex"`},
	} {
		_, err := Parse([]byte("name: a\ntasks: [{name: b, command: x, " + c.task + "}]"))
		fe, ok := AsFieldError(err)
		if !ok || fe.Field != c.field || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want a field error on %s saying %q", c.task, err, c.field, c.msg)
		}
	}
}
