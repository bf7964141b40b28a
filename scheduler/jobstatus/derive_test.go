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
