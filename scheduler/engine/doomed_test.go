package engine

import (
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// A task that can no longer succeed has its running instances killed and
// launches no more; the running instances of a continueOn task, or of one
// that may still lose an instance, carry on.
func TestDoomedTaskKillsRunningAndLaunchesNoMore(t *testing.T) {
	for _, tc := range []struct {
		name      string
		doc       string
		wantKills int
	}{
		{"needs every instance", `{name: d, tasks: [{name: a, command: x, instances: 4, parallelism: 3, retries: 0}]}`, 2},
		{"continueOn carries on", `{name: d, tasks: [{name: a, command: x, instances: 4, parallelism: 3, retries: 0, continueOn: true}]}`, 0},
		{"completions forgive one failure", `{name: d, tasks: [{name: a, command: x, instances: 4, parallelism: 3, completions: 3, retries: 0}]}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(nil)
			e.AddJob(parsed(t, "d-1", tc.doc))
			ls := e.Plan(big())
			if len(ls) != 3 {
				t.Fatalf("launched %d, want 3 (parallelism)", len(ls))
			}
			for _, l := range ls {
				apply(t, e, l.Attempt.TaskID(), mesos.TASK_RUNNING)
			}
			if a := end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 1); a.Verdict != job.VerdictFail {
				t.Fatalf("verdict %+v", a)
			}
			r := e.Tick()
			if len(r.Kill) != tc.wantKills {
				t.Fatalf("kills %v, want %d", r.Kill, tc.wantKills)
			}
			for id := range r.Kill {
				if a := end(t, e, id, mesos.TASK_KILLED, 0); a.Reason != ReasonTaskFailed || a.Verdict == job.VerdictAgain {
					t.Fatalf("killed attempt %+v", a)
				}
			}
			if tc.wantKills == 0 {
				return
			}
			if more := e.Plan(big()); len(more) != 0 {
				t.Fatalf("launched %d after the task failed", len(more))
			}
			if len(e.Jobs()) != 0 {
				t.Fatal("the failed job is still scheduled")
			}
		})
	}
}

// An attempt requeued with a detail ends lost with the reason, the detail
// leading its message, and is launched again without using a retry.
func TestRequeueWithDetail(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "r-1", `{name: r, tasks: [{name: a, command: x, instances: 1, retries: 0}]}`))
	ls := e.Plan(big())
	id := ls[0].Attempt.TaskID()
	apply(t, e, id, mesos.TASK_RUNNING)
	if got := e.RequeueWith([]string{id, "unknown.a.0.0"}, "GLEANER_RECLAIMED", "reclaimed: memory short"); len(got) != 1 || got[id] != "agent-a" {
		t.Fatalf("RequeueWith = %v", got)
	}
	a := end(t, e, id, mesos.TASK_KILLED, 0)
	if a.State != job.AttemptLost || a.Reason != "GLEANER_RECLAIMED" || !strings.HasPrefix(a.Message, "reclaimed: memory short") || a.Verdict != job.VerdictAgain {
		t.Fatalf("ended attempt %+v", a)
	}
	if again := e.Plan(big()); len(again) != 1 || again[0].Attempt.Attempt != 1 {
		t.Fatalf("relaunch %+v", again)
	}
}
