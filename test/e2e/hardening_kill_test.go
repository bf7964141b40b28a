package e2e

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// One instance fails for good: the task can no longer succeed, so its
// still-running siblings (real processes that would sleep a minute) are
// killed and the job fails at once, instead of after they ran out.
func TestFailedTaskKillsRunningSiblings(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: doomed
tasks:
  - name: work
    command: 'if [ "$GLEANER_INDEX" = 0 ]; then sleep 1; exit 3; fi; exec sleep 60'
    instances: 3
    retries: 0
    resources: {cpus: 0.1, mem: 32}
`))
	// Well under the siblings' 60 s: they cannot have ended by themselves.
	st, as := waitJob(t, n, j.ID, 40*time.Second)
	if st.State != job.Failed || len(as) != 3 {
		t.Fatalf("job %s, attempts %+v", st.State, as)
	}
	for _, a := range as {
		switch a.Index {
		case 0:
			if a.State != job.AttemptFailed || a.ExitCode == nil || *a.ExitCode != 3 {
				t.Errorf("failing instance: %+v", a)
			}
		default:
			if a.State != job.AttemptKilled || a.Reason != engine.ReasonTaskFailed {
				t.Errorf("sibling not killed for the failure: %+v", a)
			}
		}
	}
	if got := env.mesos.Master().Metrics()["master/tasks_killed"]; got != 2 {
		t.Fatalf("mesos killed %v tasks, want 2", got)
	}
}
