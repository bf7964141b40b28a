package metrics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// BenchmarkReadSummary: one refresh of the state metrics over 1,000 stored
// jobs of 10 instances with one attempt each (in-memory store: the
// derivation's cost, without etcd's).
func BenchmarkReadSummary(b *testing.B) {
	st := store.NewMemory()
	ctx := context.Background()
	for i := range 1000 {
		id := fmt.Sprintf("j-%d", i)
		j := &job.Job{ID: id, Spec: job.Spec{Name: "j", Tasks: []job.TaskSpec{{Name: "a", Command: "true", Instances: 10}}}, Submitted: time.Now()}
		if err := st.CreateJob(ctx, j); err != nil {
			b.Fatal(err)
		}
		as := make([]job.Attempt, 10)
		for k := range as {
			as[k] = job.Attempt{Job: id, Task: "a", Index: k, State: job.AttemptSucceeded, Verdict: job.VerdictDone}
			if k == 9 {
				as[k].State, as[k].Reason, as[k].Verdict = job.AttemptFailed, "REASON_COMMAND_EXECUTOR_FAILED", job.VerdictFail
			}
		}
		if err := st.PutAttempts(ctx, as); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := ReadSummary(ctx, st, nil)
		if err != nil {
			b.Fatal(err)
		}
		if s.Jobs[job.Failed] != 1000 {
			b.Fatalf("failed jobs %d", s.Jobs[job.Failed])
		}
	}
}
