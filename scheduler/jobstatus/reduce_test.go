package jobstatus

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// A Reduction fed a job's attempts a few instances at a time answers what
// Derive and job.PlanFolds answer over all of them: the same status (state,
// counts, reasons, failed indexes) and the same fold plan, on jobs with
// retries, kills, reruns, per-index tolerances, outputs and fan-outs,
// earlier folds and records of unknown tasks or indexes.
func TestReductionDerivesAsDerive(t *testing.T) {
	cases := reductionCases()
	rng := rand.New(rand.NewSource(16))
	for i := range 400 {
		cases = append(cases, randomCase(rng, i))
	}
	for _, c := range cases {
		sort.SliceStable(c.as, func(a, b int) bool { return attemptLess(&c.as[a], &c.as[b]) }) // as the stores read them
		want, wantFolds := Derive(c.j, c.as), job.PlanFolds(&c.j.Spec, c.as)
		for _, pageSize := range []int{1, 3, len(c.as) + 1} {
			r := NewReduction(c.j)
			for _, page := range instancePages(c.as, pageSize) {
				r.Add(page)
			}
			if got := r.Status(); !reflect.DeepEqual(got, want) {
				t.Errorf("%s (pages of %d instances): status\n%+v\nwant\n%+v", c.name, pageSize, got, want)
			}
			if got := r.Folds(); !reflect.DeepEqual(got, wantFolds) {
				t.Errorf("%s (pages of %d instances): folds %v, want %v", c.name, pageSize, got, wantFolds)
			}
			if got, want := notSucceeded(r.Kept()), notSucceeded(withoutLoneRunning(c.j, c.as)); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: kept %d attempts that did not succeed, want all %d but lone running ones, in order", c.name, len(got), len(want))
			}
			if r.Attempts() != len(c.as) {
				t.Errorf("%s: %d attempts counted, want %d", c.name, r.Attempts(), len(c.as))
			}
			var last time.Time
			for _, a := range c.as {
				if a.Ended.After(last) {
					last = a.Ended
				}
			}
			if !r.LastEnded().Equal(last) {
				t.Errorf("%s: last ended %v, want %v", c.name, r.LastEnded(), last)
			}
		}
	}
}

// The reduction holds a big succeeded array as indexes, not records.
func TestReductionKeepsNoRecordOfPlainSuccesses(t *testing.T) {
	j := &job.Job{ID: "big", Spec: job.Spec{Name: "big", Tasks: []job.TaskSpec{{Name: "work", Command: "true", Instances: 1000}}}}
	r := NewReduction(j)
	for i := range 1000 {
		r.Add([]job.Attempt{{Job: "big", Task: "work", Index: i, State: job.AttemptSucceeded, Verdict: job.VerdictDone}})
	}
	if len(r.kept) != 0 {
		t.Fatalf("%d records kept, want none", len(r.kept))
	}
	if st := r.Status(); st.State != job.Succeeded || st.Tasks[0].Counts != (job.Counts{Succeeded: 1000}) {
		t.Fatalf("status %s %+v, want succeeded, 1000 succeeded", st.State, st.Tasks[0].Counts)
	}
}

// The reduction holds a big running array as indexes, not records, and
// counts it as running.
func TestReductionKeepsNoRecordOfLoneRunningInstances(t *testing.T) {
	j := &job.Job{ID: "big", Spec: job.Spec{Name: "big", Tasks: []job.TaskSpec{{Name: "work", Command: "true", Instances: 1000}}}}
	r := NewReduction(j)
	for i := range 1000 {
		state := job.AttemptRunning
		if i%2 == 0 {
			state = job.AttemptLaunching
		}
		r.Add([]job.Attempt{{Job: "big", Task: "work", Index: i, State: state}})
	}
	if len(r.kept) != 0 {
		t.Fatalf("%d records kept, want none", len(r.kept))
	}
	if st := r.Status(); st.State != job.Running || st.Tasks[0].Counts != (job.Counts{Running: 1000}) {
		t.Fatalf("status %s %+v, want running, 1000 running", st.State, st.Tasks[0].Counts)
	}
}

type reductionCase struct {
	name string
	j    *job.Job
	as   []job.Attempt
}

func at(s int) time.Time { return time.Unix(int64(s), 0).UTC() }

func reductionCases() []reductionCase {
	one := 1
	ok := func(task string, i, n int) job.Attempt {
		return job.Attempt{Job: "x", Task: task, Index: i, Attempt: n, State: job.AttemptSucceeded, Verdict: job.VerdictDone, Created: at(2), Ended: at(3 + i)}
	}
	failed := func(task string, i, n int, verdict string) job.Attempt {
		return job.Attempt{Job: "x", Task: task, Index: i, Attempt: n, State: job.AttemptFailed, ExitCode: &one, Verdict: verdict, Message: "exit 1", Created: at(2), Ended: at(4)}
	}
	withOut := func(a job.Attempt, k, v string) job.Attempt { a.Outputs = map[string]string{k: v}; return a }
	spec := func(tasks ...job.TaskSpec) job.Spec { return job.Spec{Name: "x", Tasks: tasks} }
	arr := job.TaskSpec{Name: "a", Command: "a", Instances: 6, Retries: 1}
	dep := job.TaskSpec{Name: "b", Command: "b", Instances: 2, Depends: []string{"a"}}
	perIndex := job.TaskSpec{Name: "p", Command: "p", Instances: 5, BackoffLimitPerIndex: &one, MaxFailedIndexes: &one}
	return []reductionCase{
		{"all succeeded", &job.Job{ID: "x", Spec: spec(arr)}, []job.Attempt{ok("a", 0, 0), ok("a", 1, 0), ok("a", 2, 0), ok("a", 3, 0), ok("a", 4, 0), ok("a", 5, 0)}},
		{"half folded before, a record left over", &job.Job{ID: "x", Spec: spec(arr), Folded: job.Folds{"a": {{From: 0, To: 3}}}},
			[]job.Attempt{ok("a", 2, 0), ok("a", 3, 0), ok("a", 4, 0), ok("a", 5, 0)}},
		{"a retry, then success", &job.Job{ID: "x", Spec: spec(arr, dep)},
			[]job.Attempt{ok("a", 0, 0), failed("a", 1, 0, job.VerdictAgain), ok("a", 1, 1), ok("a", 2, 0), ok("b", 0, 0)}},
		{"failed: b skipped", &job.Job{ID: "x", Spec: spec(arr, dep)},
			[]job.Attempt{ok("a", 0, 0), failed("a", 1, 0, job.VerdictFail), ok("a", 2, 0)}},
		{"failJob", &job.Job{ID: "x", Spec: spec(arr)}, []job.Attempt{ok("a", 0, 0), failed("a", 1, 0, job.VerdictFailJob)}},
		{"kill requested", &job.Job{ID: "x", Spec: spec(arr, dep), KillRequested: true, KillReason: "by hand"},
			[]job.Attempt{ok("a", 0, 0), {Job: "x", Task: "a", Index: 1, State: job.AttemptKilled, Verdict: job.VerdictStop}}},
		{"retried job, a rerun", &job.Job{ID: "x", Spec: spec(arr, dep), RetriedAt: at(10), Rerun: []string{"a"}},
			[]job.Attempt{ok("a", 0, 0), ok("a", 1, 0), ok("b", 0, 0), ok("b", 1, 0)}},
		{"retried job, a failure", &job.Job{ID: "x", Spec: spec(arr, dep), RetriedAt: at(10)},
			[]job.Attempt{ok("a", 0, 0), failed("a", 1, 0, job.VerdictFail), ok("a", 2, 0)}},
		{"per-index tolerance", &job.Job{ID: "x", Spec: spec(perIndex)},
			[]job.Attempt{ok("p", 0, 0), failed("p", 1, 0, job.VerdictFail), ok("p", 2, 0), ok("p", 3, 0), ok("p", 4, 0)}},
		{"records of an unknown task and of indexes beyond the array", &job.Job{ID: "x", Spec: spec(arr)},
			[]job.Attempt{ok("a", 0, 0), ok("a", 6, 0), ok("a", 9, 0), ok("gone", 0, 0), {Job: "x", Task: "a", Index: -1, State: job.AttemptSucceeded}}},
		{"running and launching", &job.Job{ID: "x", Spec: spec(arr)},
			[]job.Attempt{ok("a", 0, 0), {Job: "x", Task: "a", Index: 1, State: job.AttemptRunning}, {Job: "x", Task: "a", Index: 2, State: job.AttemptLaunching}}},
		{"succeeded without a verdict", &job.Job{ID: "x", Spec: spec(arr)},
			[]job.Attempt{{Job: "x", Task: "a", Index: 0, State: job.AttemptSucceeded}, {Job: "x", Task: "a", Index: 1, Attempt: 2, State: job.AttemptSucceeded}}},
		{"outputs and a fan-out", &job.Job{ID: "x", Spec: spec(
			job.TaskSpec{Name: "gen", Command: "g", Instances: 1},
			job.TaskSpec{Name: "fan", Command: "f", Depends: []string{"gen"}, WithParam: "{{tasks.gen.outputs.parameters.list}}", Instances: 5},
			job.TaskSpec{Name: "merge", Command: "m", Instances: 1, Depends: []string{"fan"}, When: `tasks.fan.outputs.parameters.n == "1"`})},
			[]job.Attempt{withOut(ok("gen", 0, 0), "list", `["a","b","c"]`), ok("fan", 0, 0), withOut(ok("fan", 1, 0), "n", "1"), ok("fan", 2, 0), ok("fan", 4, 0)}},
	}
}

// randomCase is a job of up to three tasks (an array, a dependant, a
// per-index task) and a random history of attempts.
func randomCase(rng *rand.Rand, n int) reductionCase {
	one, two := 1, 2
	tasks := []job.TaskSpec{
		{Name: "a", Command: "a", Instances: 1 + rng.Intn(12), Retries: rng.Intn(3)},
		{Name: "b", Command: "b", Instances: 1 + rng.Intn(3), Depends: []string{"a"}, ContinueOn: rng.Intn(2) == 0},
		{Name: "p", Command: "p", Instances: 1 + rng.Intn(6), BackoffLimitPerIndex: &one, MaxFailedIndexes: &two},
	}
	j := &job.Job{ID: "x", Spec: job.Spec{Name: "x", Tasks: tasks[:1+rng.Intn(3)], FailFast: rng.Intn(2) == 0}}
	switch rng.Intn(6) {
	case 0:
		j.KillRequested, j.KillReason = true, "killed"
	case 1:
		j.RetriedAt = at(50)
		if rng.Intn(2) == 0 {
			j.Rerun = []string{"a"}
		}
	case 2:
		j.Folded = job.Folds{"a": {{From: 0, To: 1 + rng.Intn(tasks[0].Instances)}}}
	case 3:
		j.Suspended = true
	}
	states := []job.AttemptState{job.AttemptSucceeded, job.AttemptSucceeded, job.AttemptSucceeded, job.AttemptFailed, job.AttemptKilled, job.AttemptLost, job.AttemptRunning, job.AttemptLaunching}
	verdicts := []string{job.VerdictDone, job.VerdictDone, "", job.VerdictAgain, job.VerdictFail, job.VerdictStop, job.VerdictFailJob}
	var as []job.Attempt
	for _, t := range j.Spec.Tasks {
		for i := range t.Instances + 1 { // one index beyond the array, sometimes
			if rng.Intn(4) == 0 || (i == t.Instances && rng.Intn(3) != 0) {
				continue
			}
			for k := range 1 + rng.Intn(2)*rng.Intn(3) {
				st := states[rng.Intn(len(states))]
				v := verdicts[rng.Intn(len(verdicts))]
				if st == job.AttemptSucceeded && rng.Intn(3) > 0 {
					v = job.VerdictDone
				}
				if st == job.AttemptRunning || st == job.AttemptLaunching {
					v = ""
				}
				a := job.Attempt{Job: "x", Task: t.Name, Index: i, Attempt: k, State: st, Verdict: v,
					Created: at(10 + rng.Intn(80)), Ended: at(20 + rng.Intn(80)), Message: fmt.Sprint("m", k)}
				if rng.Intn(10) == 0 {
					a.Outputs = map[string]string{"o": fmt.Sprint(i)}
				}
				as = append(as, a)
			}
		}
	}
	return reductionCase{name: fmt.Sprintf("random %d", n), j: j, as: as}
}

// instancePages splits as (sorted) into pages of at most n instances, in
// a shuffled order of pages as a store hands them over in its own order.
func instancePages(as []job.Attempt, n int) [][]job.Attempt {
	var pages [][]job.Attempt
	start, insts := 0, 0
	for i := range as {
		if i > 0 && (as[i].Task != as[i-1].Task || as[i].Index != as[i-1].Index) {
			insts++
			if insts == n {
				pages = append(pages, as[start:i])
				start, insts = i, 0
			}
		}
	}
	if start < len(as) {
		pages = append(pages, as[start:])
	}
	for i := len(pages) - 1; i > 0; i-- { // reversed: not the numeric order
		j := len(pages) - 1 - i
		if j < i {
			pages[i], pages[j] = pages[j], pages[i]
		}
	}
	return pages
}

// withoutLoneRunning leaves out the records of instances that have one,
// a launching or running attempt with nothing to tell (sorted as).
func withoutLoneRunning(j *job.Job, as []job.Attempt) []job.Attempt {
	var out []job.Attempt
	for i := 0; i < len(as); {
		n := 1
		for i+n < len(as) && as[i+n].Task == as[i].Task && as[i+n].Index == as[i].Index {
			n++
		}
		a := as[i]
		lone := n == 1 && (a.State == job.AttemptRunning || a.State == job.AttemptLaunching) &&
			a.Verdict == "" && len(a.Outputs) == 0 && j.Task(a.Task) != nil && a.Index < j.Task(a.Task).Instances &&
			!(j.Task(a.Task).WithParam != "" && j.Task(a.Task).WithItems == nil)
		if !lone {
			out = append(out, as[i:i+n]...)
		}
		i += n
	}
	return out
}

func notSucceeded(as []job.Attempt) []job.Attempt {
	var out []job.Attempt
	for _, a := range as {
		if a.State != job.AttemptSucceeded {
			out = append(out, a)
		}
	}
	return out
}
