package jobstatus

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// A task with a per-index tolerance takes the state retry.IndexTolerance
// decides, lists its failed indexes and says why in its reason.
func TestDerivePerIndex(t *testing.T) {
	exit1, zero, one := 1, 0, 1
	attempt := func(i int, verdict string) job.Attempt {
		a := job.Attempt{Job: "p-1", Task: "a", Index: i, Attempt: 1, State: job.AttemptSucceeded, Verdict: verdict, Created: time.Unix(2, 0)}
		if verdict != job.VerdictDone {
			a.State, a.ExitCode = job.AttemptFailed, &exit1
		}
		return a
	}
	running := job.Attempt{Job: "p-1", Task: "a", Index: 3, Attempt: 1, State: job.AttemptRunning, Created: time.Unix(2, 0)}
	for _, c := range []struct {
		name     string
		maxFail  *int
		attempts []job.Attempt
		job      job.State
		failed   []int
		reason   string
	}{
		{"a failure within the tolerance, others still to run", &one, []job.Attempt{attempt(2, job.VerdictFail)}, job.Running, []int{2}, ""},
		{"a failure within the tolerance, one runs", &one, []job.Attempt{attempt(2, job.VerdictFail), running}, job.Running, []int{2}, ""},
		{"all ended within the tolerance", &one, []job.Attempt{attempt(0, job.VerdictDone), attempt(1, job.VerdictDone), attempt(2, job.VerdictFail), attempt(3, job.VerdictDone)},
			job.Succeeded, []int{2}, "1 of 4 indexes failed (2), within maxFailedIndexes 1"},
		{"past the tolerance", &zero, []job.Attempt{attempt(2, job.VerdictFail)}, job.Failed, []int{2}, "1 indexes failed (2), more than maxFailedIndexes 0"},
		{"no maxFailedIndexes, not all ended", nil, []job.Attempt{attempt(1, job.VerdictFail), attempt(2, job.VerdictFail)}, job.Running, []int{1, 2}, ""},
		{"no maxFailedIndexes, all ended", nil, []job.Attempt{attempt(0, job.VerdictDone), attempt(1, job.VerdictFail), attempt(2, job.VerdictDone), attempt(3, job.VerdictDone)},
			job.Failed, []int{1}, "1 of 4 indexes failed (1; no maxFailedIndexes)"},
		{"a retried index is not failed", &zero, []job.Attempt{attempt(1, job.VerdictAgain)}, job.Running, nil, ""},
	} {
		j := &job.Job{ID: "p-1", Submitted: time.Unix(1, 0), Spec: job.Spec{Name: "p", Tasks: []job.TaskSpec{
			{Name: "a", Command: "a", Instances: 4, Retries: 0, BackoffLimitPerIndex: &zero, MaxFailedIndexes: c.maxFail}}}}
		st := Derive(j, c.attempts)
		ts := st.Tasks[0]
		if st.State != c.job || !slices.Equal(ts.FailedIndexes, c.failed) || !strings.Contains(ts.Reason, c.reason) {
			t.Errorf("%s: job %s, task %s (%q), failed %v; want %s, %v, %q", c.name, st.State, ts.State, ts.Reason, ts.FailedIndexes, c.job, c.failed, c.reason)
		}
	}
}

func TestListIndexes(t *testing.T) {
	many := make([]int, 100)
	for i := range many {
		many[i] = i * 2
	}
	for _, c := range []struct {
		idx  []int
		n    int
		want string
	}{
		{[]int{1, 4}, 2, "1, 4"},
		{many, 150, "0, 2, 4, 6, 8, 10, 12, 14, 16, 18 and 140 more"},
	} {
		if got := listIndexes(c.idx, c.n); got != c.want {
			t.Errorf("listIndexes(%d of %d) = %q, want %q", len(c.idx), c.n, got, c.want)
		}
	}
}
