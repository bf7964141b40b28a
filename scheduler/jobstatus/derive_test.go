package jobstatus

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Derive applies what Tally does not know: a task that can never run
// after its dependency failed is skipped and the job failed; a retried
// job's failed attempts read as "again".
func TestDeriveBeyondTally(t *testing.T) {
	j := &job.Job{ID: "x-1", Submitted: time.Unix(1, 0), Spec: job.Spec{Name: "x", Tasks: []job.TaskSpec{
		{Name: "a", Command: "a", Instances: 1},
		{Name: "b", Command: "b", Instances: 1, Depends: []string{"a"}},
	}}}
	failed := []job.Attempt{{Job: "x-1", Task: "a", State: job.AttemptFailed, Verdict: job.VerdictFail, Created: time.Unix(2, 0)}}

	tally := job.Tally(j, failed)
	if tally.Tasks[1].State != job.Pending {
		t.Fatalf("Tally: b %s, want pending (it knows no DAG)", tally.Tasks[1].State)
	}
	st := Derive(j, failed)
	if st.State != job.Failed || st.Tasks[1].State != job.Skipped || st.Tasks[1].Reason == "" || st.Tasks[1].Depends != "a" {
		t.Fatalf("Derive = %s, b %s (%q, depends %q); want failed, b skipped with a reason, depends a",
			st.State, st.Tasks[1].State, st.Tasks[1].Reason, st.Tasks[1].Depends)
	}

	j.RetriedAt = time.Unix(3, 0)
	if v := RetryView(j, failed); v[0].Verdict != job.VerdictAgain || failed[0].Verdict != job.VerdictFail {
		t.Fatalf("RetryView verdict %q (input now %q), want again and the input untouched", v[0].Verdict, failed[0].Verdict)
	}
	if st := Derive(j, failed); st.State.Terminal() {
		t.Fatalf("a retried job derives %s, want not terminal", st.State)
	}
}

// Issue 13: skipped tasks' instances count as skipped, not pending, and an
// instance waiting out a backoff keeps its task and job running (the
// progress line flipped running → pending → running while a job retried).
func TestDeriveCountsSkippedAndRetrying(t *testing.T) {
	exit1 := 1
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	twoTasks := job.Spec{Name: "x", Params: map[string]string{"go": "no"}, Tasks: []job.TaskSpec{
		{Name: "a", Command: "a", Instances: 3, Retries: 2},
		{Name: "b", Command: "b", Instances: 4, When: `params.go == "yes"`},
	}}
	failedOnce := job.Attempt{Job: "x-1", Task: "a", Index: 1, Attempt: 1, State: job.AttemptFailed, ExitCode: &exit1,
		Verdict: job.VerdictAgain, NotBefore: at(60), Created: at(2), Ended: at(3)}
	done := func(i int) job.Attempt {
		return job.Attempt{Job: "x-1", Task: "a", Index: i, Attempt: 1, State: job.AttemptSucceeded, Verdict: job.VerdictDone, Created: at(2)}
	}
	for _, c := range []struct {
		name      string
		attempts  []job.Attempt
		kill      bool
		job, a, b job.State
		aCounts   job.Counts
		bCounts   job.Counts
	}{
		{"nothing ran yet", nil, false, job.Pending, job.Pending, job.Skipped,
			job.Counts{Pending: 3}, job.Counts{Skipped: 4}},
		{"one instance backs off, none runs", []job.Attempt{failedOnce}, false, job.Running, job.Running, job.Skipped,
			job.Counts{Pending: 2, Retrying: 1}, job.Counts{Skipped: 4}},
		{"the others succeeded, the last backs off", []job.Attempt{done(0), failedOnce, done(2)}, false, job.Running, job.Running, job.Skipped,
			job.Counts{Succeeded: 2, Retrying: 1}, job.Counts{Skipped: 4}},
		{"all ran, the rest is skipped", []job.Attempt{done(0), done(1), done(2)}, false, job.Succeeded, job.Succeeded, job.Skipped,
			job.Counts{Succeeded: 3}, job.Counts{Skipped: 4}},
		{"killed while backing off", []job.Attempt{failedOnce}, true, job.Killed, job.Killed, job.Killed,
			job.Counts{Killed: 3}, job.Counts{Killed: 4}},
	} {
		j := &job.Job{ID: "x-1", Submitted: at(1), Spec: twoTasks, KillRequested: c.kill}
		st := Derive(j, c.attempts)
		if st.State != c.job || st.Tasks[0].State != c.a || st.Tasks[1].State != c.b {
			t.Errorf("%s: job %s, a %s, b %s; want %s, %s, %s", c.name, st.State, st.Tasks[0].State, st.Tasks[1].State, c.job, c.a, c.b)
		}
		if st.Tasks[0].Counts != c.aCounts || st.Tasks[1].Counts != c.bCounts {
			t.Errorf("%s: counts a %+v b %+v; want %+v, %+v", c.name, st.Tasks[0].Counts, st.Tasks[1].Counts, c.aCounts, c.bCounts)
		}
	}
}
