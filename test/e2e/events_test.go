package e2e

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/events"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Two schedulers detect events, only the leader sends them: a failing job
// reaches a receiver that refuses its first two deliveries, each event
// exactly once, in order, signed; the failed attempt is announced with
// its exit code before the task's failure.
func TestEventsFromTheLeaderOnlyWithRetries(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, WorkDir: t.TempDir()})
	a, _ := env.startNode("a")
	b, _ := env.startNode("b")
	hook := newHookReceiver(t, 2)
	serveWithTemplatesAndEvents(t, env, a, hook)
	serveWithTemplatesAndEvents(t, env, b, hook)
	waitFor(t, "a leader", 20*time.Second, func() bool { return a.IsLeader() || b.IsLeader() })
	j := submit(t, []*node.Node{a, b}, mustSpec(t, `
name: breaks
tasks:
  - name: fails
    command: "sleep 1; exit 3"
    retries: 0
`))
	leader := a
	if b.IsLeader() {
		leader = b
	}
	if st, _ := waitBatch(t, leader, j.ID, 60*time.Second); st.State != job.Failed {
		t.Fatalf("job %+v, want failed", st)
	}
	evs := waitJobEvent(t, hook, j.ID, "job.failed")
	checkJobEvents(t, evs, job.Failed, "fails")
	var failedAt, taskFailedAt int
	for i, e := range evs {
		switch e.Type {
		case "instance.failed":
			failedAt = i
			if e.ExitCode == nil || *e.ExitCode != 3 || e.Index == nil || *e.Index != 0 {
				t.Fatalf("instance.failed %+v, want index 0, exit code 3", e)
			}
		case "task.failed":
			taskFailedAt = i
		}
	}
	if failedAt > taskFailedAt {
		t.Fatalf("instance.failed after task.failed: %+v", evs)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		key := e.Type + "/" + e.Task
		if seen[key] {
			t.Fatalf("%s delivered twice (a standby sent it too?): %+v", key, evs)
		}
		seen[key] = true
	}
	if !seen["task.failed/fails"] || !seen["instance.failed/fails"] {
		t.Fatalf("no task.failed: %+v", evs)
	}
}

func waitJobEvent(t *testing.T, hook *hookReceiver, id, last string) []events.Event {
	t.Helper()
	var evs []events.Event
	waitFor(t, last+" at the webhook", 60*time.Second, func() bool {
		evs, _ = hook.jobEvents(id)
		return len(evs) > 0 && evs[len(evs)-1].Type == last
	})
	if _, bad := hook.jobEvents(id); len(bad) != 0 {
		t.Fatalf("deliveries failing the signature check: %v", bad)
	}
	return evs
}
