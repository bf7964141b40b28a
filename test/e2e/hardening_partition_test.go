package e2e

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// An agent is partitioned (stopped; its executor keeps running): its task
// becomes TASK_UNREACHABLE, the attempt is recorded lost and the instance
// runs again elsewhere without using a retry. The agent comes back with the
// old task still running: Gleaner kills it when it reappears and never
// lets it count for the instance, so the instance finishes exactly once.
// (Chosen over waiting for TASK_GONE: a partitioned agent may never come
// back, and Mesos only reports GONE when an operator says so.)
func TestPartitionedTaskReappearsAndIsKilled(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Simulated: true})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: partitioned
tasks:
  - name: work
    command: "true"
    retries: 0
    labels: {"localmesos.sim/duration": "10s"}
`))
	// The task runs long enough to be seen running, partitioned, and found
	// still running when its agent returns, even on a loaded machine: with
	// 3 s the first attempt was once never seen running within 20 s (a stall
	// such as a blip of the 2 s leader lease outlasting it).
	var first job.Attempt
	waitFor(t, "the first attempt running", 20*time.Second, func() bool {
		_, as := status(t, n, j.ID)
		if len(as) == 1 && as[0].State == job.AttemptRunning {
			first = as[0]
			return true
		}
		return false
	})
	idx := -1
	for i, a := range env.mesos.Agents() {
		if a.Hostname() == first.Hostname {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("no agent named %q", first.Hostname)
	}
	env.mesos.Agents()[idx].Local().Stop() // partition: the executor survives
	waitFor(t, "the attempt lost and a second one running", 20*time.Second, func() bool {
		_, as := status(t, n, j.ID)
		return len(as) == 2 && as[0].State == job.AttemptLost && as[1].State == job.AttemptRunning
	})
	if err := env.mesos.RestartAgent(idx); err != nil {
		t.Fatal(err)
	}
	st, as := waitJob(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded || len(as) != 2 {
		t.Fatalf("job %s, attempts %+v", st.State, as)
	}
	if as[0].State != job.AttemptLost || as[0].MesosState != "TASK_UNREACHABLE" || as[1].State != job.AttemptSucceeded || as[1].Hostname == first.Hostname {
		t.Fatalf("attempts %+v", as)
	}
	metric := func(k string) float64 { return env.mesos.Master().Metrics()[k] }
	waitFor(t, "the reappeared task killed", 20*time.Second, func() bool { return metric("master/tasks_killed") == 1 })
	if got := metric("master/tasks_finished"); got != 1 {
		t.Fatalf("mesos finished %v tasks, want 1 (the old attempt must not finish too)", got)
	}
	// The late end of the old task changed nothing stored.
	if _, as2 := status(t, n, j.ID); len(as2) != 2 || as2[0].State != job.AttemptLost || as2[0].MesosState != "TASK_UNREACHABLE" {
		t.Fatalf("attempts after the old task was killed: %+v", as2)
	}
}
