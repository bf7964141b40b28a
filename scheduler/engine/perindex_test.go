package engine

import (
	"slices"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
)

// Issue 13: with a per-index tolerance a failed index does not stop the
// other indexes; the task fails only past maxFailedIndexes (or, without
// it, at the end), and the job's derived status agrees with the engine.
func TestPerIndexTolerance(t *testing.T) {
	const head = `{name: p, tasks: [{name: a, command: x, instances: 4, parallelism: 3, `
	for _, tc := range []struct {
		name        string
		task        string
		wantVerdict string
		wantKills   int
		wantMore    int // launched after the failure
		wantState   job.State
		wantFailed  []int
	}{
		{"within the tolerance", `backoffLimitPerIndex: 0, maxFailedIndexes: 1}]}`, job.VerdictFail, 0, 1, job.Succeeded, []int{0}},
		{"past the tolerance", `backoffLimitPerIndex: 0, maxFailedIndexes: 0}]}`, job.VerdictFail, 2, 0, job.Failed, []int{0}},
		{"no maxFailedIndexes: all run, then it fails", `backoffLimitPerIndex: 0}]}`, job.VerdictFail, 0, 1, job.Failed, []int{0}},
		{"the index retries on its own budget", `backoffLimitPerIndex: 1, maxFailedIndexes: 0}]}`, job.VerdictAgain, 0, 2, job.Succeeded, nil},
		{"without a tolerance the first failure fails the task", `retries: 0}]}`, job.VerdictFail, 2, 0, job.Failed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := parsed(t, "p-1", head+tc.task)
			e := New(nil)
			e.AddJob(j)
			byID := map[string]job.Attempt{}
			ls := e.Plan(big())
			if len(ls) != 3 {
				t.Fatalf("launched %d, want 3 (parallelism)", len(ls))
			}
			for _, l := range ls {
				o, _ := apply(t, e, l.Attempt.TaskID(), mesos.TASK_RUNNING)
				byID[l.Attempt.TaskID()] = *o.Attempt
			}
			failed := end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 1)
			byID[failed.TaskID()] = failed
			if failed.Verdict != tc.wantVerdict {
				t.Fatalf("verdict %q (%s), want %q", failed.Verdict, failed.Message, tc.wantVerdict)
			}
			r := e.Tick()
			if len(r.Kill) != tc.wantKills {
				t.Fatalf("kills %v, want %d", r.Kill, tc.wantKills)
			}
			for id := range r.Kill {
				byID[id] = end(t, e, id, mesos.TASK_KILLED, 0)
			}
			// Run every index to its end; count what starts after the failure.
			launched, open := 0, ls[1:]
			for {
				for _, l := range open {
					if _, killed := r.Kill[l.Attempt.TaskID()]; !killed {
						a := end(t, e, l.Attempt.TaskID(), mesos.TASK_FINISHED, 0)
						byID[a.TaskID()] = a
					}
				}
				if open = e.Plan(big()); len(open) == 0 {
					break
				}
				launched += len(open)
			}
			if launched != tc.wantMore || len(e.Jobs()) != 0 {
				t.Fatalf("launched %d after the failure, want %d; %d jobs still scheduled", launched, tc.wantMore, len(e.Jobs()))
			}
			var attempts []job.Attempt
			for _, a := range byID {
				attempts = append(attempts, a)
			}
			st := jobstatus.Derive(j, attempts)
			if st.State != tc.wantState || st.Tasks[0].State != tc.wantState || !slices.Equal(st.Tasks[0].FailedIndexes, tc.wantFailed) {
				t.Fatalf("derived job %s, task %s (%s), failed indexes %v; want %s, %v",
					st.State, st.Tasks[0].State, st.Tasks[0].Reason, st.Tasks[0].FailedIndexes, tc.wantState, tc.wantFailed)
			}
		})
	}
}
