package e2e

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// A job scheduled every second across a leader failover: the runs'
// scheduled times are every second from the first to the last (none lost
// while no leader ran), each run created once and run once.
func TestBatchCronAcrossLeaderFailover(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Simulated: true, Resources: "cpus:8;mem:8192;disk:1024"})
	fast := func(c *node.Config) { c.CronInterval = 100 * time.Millisecond }
	a, stopA := env.startNode("a", fast)
	waitFor(t, "a to lead", 10*time.Second, a.IsLeader)
	b, _ := env.startNode("b", fast)
	parent := submit(t, []*node.Node{a}, mustSpec(t, `
name: tick
schedule: {cron: "@every 1s"}
tasks:
  - name: work
    command: "true"
    labels: {"localmesos.sim/duration": "50ms"}
`))
	runs := func(n *node.Node) []*job.Job {
		js, err := n.Store().ListJobs(context.Background())
		if err != nil {
			return nil
		}
		var out []*job.Job
		for _, j := range js {
			if j.Parent == parent.ID {
				out = append(out, j)
			}
		}
		return out
	}
	waitFor(t, "two runs under a", 20*time.Second, func() bool { return len(runs(a)) >= 2 })
	stopA()
	waitFor(t, "b to lead", 20*time.Second, b.IsLeader)
	before := len(runs(b))
	waitFor(t, "runs under b", 20*time.Second, func() bool { return len(runs(b)) >= before+3 })
	if _, err := b.Kill(context.Background(), parent.ID); err != nil {
		t.Fatal(err)
	}
	// Let the last created runs finish.
	var all []*job.Job
	waitFor(t, "every run finished", 30*time.Second, func() bool {
		all = runs(b)
		for _, r := range all {
			if st, _ := bstatus(t, b, r.ID); st.State != job.Succeeded {
				return false
			}
		}
		return true
	})
	var times []int64
	for _, r := range all {
		at, ok := cron.ParseRunID(parent.ID, r.ID)
		if !ok || !strings.HasPrefix(r.ID, parent.ID+"-") {
			t.Fatalf("run id %q", r.ID)
		}
		times = append(times, at.Unix())
		// A launch the old leader stored but never got to Mesos is reconciled
		// as unknown to the master (lost, never started) and run again: that
		// is not a second run. Every other attempt reached Mesos.
		_, as := bstatus(t, b, r.ID)
		ran := 0
		for _, a := range as {
			neverReachedMesos := a.State == job.AttemptLost && a.Started.IsZero() && a.Reason == "REASON_RECONCILIATION"
			if !neverReachedMesos {
				ran++
			}
		}
		if ran != 1 {
			t.Errorf("run %s ran %d times: %+v", r.ID, ran, as)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	for i := 1; i < len(times); i++ {
		if times[i] != times[i-1]+1 {
			t.Errorf("runs at %d then %d: a run lost or doubled (%v)", times[i-1], times[i], times)
		}
	}
	if st, _ := bstatus(t, b, parent.ID); st.State != job.Killed {
		t.Errorf("scheduled job after kill: %s", st.State)
	}
	j, _ := b.Store().GetJob(context.Background(), parent.ID)
	if j.LastScheduled.Unix() < times[len(times)-1] {
		t.Errorf("lastScheduled %v before the last run %d", j.LastScheduled, times[len(times)-1])
	}
}
