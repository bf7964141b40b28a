package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Issue 10 finding 7: across leader failovers nothing is lost or run
// twice, and no leader sends a KILL for a task Mesos knows ended nor
// acknowledges a status update twice. A leader that dies between storing
// an update and acknowledging it leaves the update pending on its agent,
// which resends it (here after 10 s) to the next leader; that leader has
// meanwhile learnt the task's end from its explicit reconciliation, so the
// resent TASK_RUNNING is stale and the task must not be killed for it.
func TestFailoverNoKillOfFinishedTasksNoUnexpectedAcks(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, Simulated: true, Resources: "cpus:4;mem:4096;disk:1024"})
	type running struct {
		n    *node.Node
		stop func()
	}
	var nodes []running
	start := func() {
		n, stop := env.startNode(fmt.Sprintf("n%d", len(nodes)))
		nodes = append(nodes, running{n, stop})
	}
	start()
	start()
	waitFor(t, "a leader", 20*time.Second, func() bool { return nodes[0].n.IsLeader() || nodes[1].n.IsLeader() })
	all := func() []*node.Node {
		var ns []*node.Node
		for _, r := range nodes {
			ns = append(ns, r.n)
		}
		return ns
	}
	j := submit(t, all(), mustSpec(t, `
name: failover
tasks:
  - name: work
    command: "true"
    resources: {cpus: 0.5, mem: 32}
    instances: 600
    labels: {"localmesos.sim/duration": "400ms"}
`))
	reader := nodes[0].n
	succeeded := func() int {
		st, _ := status(t, reader, j.ID)
		if len(st.Tasks) == 0 {
			return 0
		}
		return st.Tasks[0].Counts.Succeeded
	}
	const failovers = 3
	stopped := map[int]bool{}
	for k := range failovers {
		mark := succeeded()
		waitFor(t, "progress before a failover", 60*time.Second, func() bool { return succeeded() >= mark+40 })
		leader := -1
		waitFor(t, "a leader to kill", 20*time.Second, func() bool {
			for i, r := range nodes {
				if !stopped[i] && r.n.IsLeader() {
					leader = i
					return true
				}
			}
			return false
		})
		start() // the next standby
		nodes[leader].stop()
		stopped[leader] = true
		if leader == 0 {
			reader = nodes[len(nodes)-1].n
		}
		t.Logf("failover %d: stopped n%d with %d instances succeeded", k+1, leader, succeeded())
	}
	var last *node.Node
	waitFor(t, "a new leader", 20*time.Second, func() bool {
		for i, r := range nodes {
			if !stopped[i] && r.n.IsLeader() {
				last = r.n
				return true
			}
		}
		return false
	})
	st, as := waitJob(t, last, j.ID, 120*time.Second)
	checkExactlyOnce(t, st, as)
	// Updates left pending by the stopped leaders come back from their
	// agents 10 s (then 20 s...) later: wait until the master has every
	// task's terminal update acknowledged.
	waitFor(t, "every terminal update acknowledged", 90*time.Second, func() bool {
		m := env.mesos.Master().Metrics()
		return m["master/tasks_finished"] >= 600 && unacknowledged(t, env) == 0
	})
	m := env.mesos.Master().Metrics()
	if n := m["localmesos/kills_of_terminal_tasks"]; n != 0 {
		t.Errorf("%v KILLs sent for tasks the master knew ended", n)
	}
	if n := m["localmesos/unexpected_status_update_acknowledgements"]; n != 0 {
		t.Errorf("%v status updates acknowledged more than once", n)
	}
	t.Logf("master: %v KILLs, %v acknowledgements, %v reconciliations", m["master/messages_kill_task"],
		m["master/messages_status_update_acknowledgement"], m["master/messages_reconcile_tasks"])
}

// unacknowledged counts the tasks the master still holds as active: running,
// or ended with the terminal update not acknowledged yet.
func unacknowledged(t testing.TB, env *schedEnv) int {
	t.Helper()
	return len(getTasks(t, env).GetTasks())
}
