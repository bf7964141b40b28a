package e2e

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// A 1,000-instance array with parallelism 50 (simulated tasks of 30 ms):
// never more than 50 alive at once, each instance run exactly once.
func TestBatchArrayParallelism(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, Simulated: true, Resources: "cpus:64;mem:65536;disk:1024"})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: array
tasks:
  - name: work
    command: "true"
    resources: {cpus: 0.1, mem: 32}
    instances: 1000
    parallelism: 50
    labels: {"localmesos.sim/duration": "30ms"}
`))
	st, as := waitBatch(t, n, j.ID, 120*time.Second)
	if st.State != job.Succeeded || st.Tasks[0].Counts.Succeeded != 1000 {
		t.Fatalf("job %s: %+v", st.State, st.Tasks)
	}
	checkExactlyOnce(t, st, as)
	if got := maxOverlap(as); got > 50 || got < 10 {
		t.Fatalf("at most %d instances alive at once, want <= 50 (and the cap used)", got)
	}
}

// Timeouts and deadlines: an attempt over its timeout is killed with the
// reason and counts as a failure; a job over its deadline is killed with
// the reason.
func TestBatchTimeoutAndDeadline(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Simulated: true, Resources: "cpus:4;mem:4096;disk:1024"})
	n, _ := env.startNode("a")
	to := submit(t, []*node.Node{n}, mustSpec(t, `
name: timeout
tasks:
  - name: slow
    command: "true"
    timeout: 300ms
    retries: 1
    labels: {"localmesos.sim/duration": "1h"}
`))
	dl := submit(t, []*node.Node{n}, mustSpec(t, `
name: deadline
deadline: 1s
tasks:
  - name: slow
    command: "true"
    instances: 3
    labels: {"localmesos.sim/duration": "1h"}
`))
	st, as := waitBatch(t, n, to.ID, 30*time.Second)
	if st.State != job.Failed || len(as) != 2 {
		t.Fatalf("timeout job %s, %d attempts: %+v", st.State, len(as), as)
	}
	for _, a := range as {
		if a.Reason != "timeout" || a.Ended.Sub(a.Started) < 300*time.Millisecond {
			t.Errorf("attempt %s: reason %q after %v", a.TaskID(), a.Reason, a.Ended.Sub(a.Started))
		}
	}
	st, as = waitBatch(t, n, dl.ID, 30*time.Second)
	if st.State != job.Killed || st.Reason != "deadline exceeded" || len(as) != 3 {
		t.Fatalf("deadline job %s (%q), %d attempts", st.State, st.Reason, len(as))
	}
	for _, a := range as {
		if a.Reason != "deadline exceeded" || a.Verdict != job.VerdictStop {
			t.Errorf("attempt %s: %q %q", a.TaskID(), a.Reason, a.Verdict)
		}
	}
	if d := as[0].Ended.Sub(dl.Submitted); d > 10*time.Second {
		t.Errorf("killed %v after submission, deadline 1s", d)
	}
}
