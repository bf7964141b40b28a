package job

import (
	"reflect"
	"testing"
	"time"
)

func TestPlanFoldsAndDerive(t *testing.T) {
	s := &Spec{Name: "f", Tasks: []TaskSpec{{Name: "a", Instances: 8, Retries: 1}, {Name: "b", Instances: 1}}}
	code := 1
	at := func(i, n int, st AttemptState) Attempt {
		a := Attempt{Job: "f-1", Task: "a", Index: i, Attempt: n, State: st}
		if st == AttemptSucceeded {
			a.Verdict = VerdictDone
		} else {
			a.ExitCode, a.Verdict = &code, VerdictAgain
		}
		return a
	}
	as := []Attempt{at(0, 0, AttemptSucceeded), at(1, 0, AttemptSucceeded), at(2, 0, AttemptFailed), at(2, 1, AttemptSucceeded),
		at(3, 0, AttemptSucceeded), at(5, 0, AttemptSucceeded), at(6, 0, AttemptSucceeded), at(7, 0, AttemptSucceeded), at(4, 0, AttemptSucceeded),
		{Job: "f-1", Task: "b", Index: 0, State: AttemptSucceeded, Verdict: VerdictDone}}
	got := PlanFolds(s, as)
	want := Folds{"a": {{0, 2}, {3, 8}}, "b": {{0, 1}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PlanFolds = %v, want %v", got, want)
	}
	j := &Job{ID: "f-1", Spec: *s, Submitted: time.Unix(1, 0)}
	before := Tally(j, as)
	// Fold: the folded attempts are gone, the ranges remain.
	j.Folded = got
	var kept []Attempt
	for _, a := range as {
		if !got.Has(a.Task, a.Index) {
			kept = append(kept, a)
		}
	}
	if len(kept) != 2 {
		t.Fatalf("kept %d records", len(kept))
	}
	after := Tally(j, kept)
	if !reflect.DeepEqual(before, after) || after.State != Succeeded || after.Tasks[0].Counts.Succeeded != 8 {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
	// A crash between writing the ranges and deleting the records: both
	// present, counted once.
	if both := Tally(j, as); !reflect.DeepEqual(both, before) {
		t.Fatalf("ranges and records: %+v", both)
	}
	if got.Has("a", 2) || !got.Has("a", 7) || got.Has("a", 8) || got.Has("c", 0) {
		t.Fatal("Has")
	}
}
