package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Against Debian's etcd-server 3.4 instead of the embedded etcd.
func TestSchedulerOnDebianEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Debian's etcd-server")
	}
	env := newSchedEnv(t, localmesos.Config{Agents: 3})
	env.etcd = etcdtest.StartDebian(t)
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, tenThenOne))
	st, as := waitJob(t, n, j.ID, 60*time.Second)
	checkExactlyOnce(t, st, as)
}

// The first --master is unreachable: the framework moves on to the next,
// and authenticates with its principal and secret.
func TestSchedulerSeveralMastersAndBasicAuth(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Credentials: map[string]string{"gleaner": "s3cret"}})
	n, _ := env.startNode("a", func(c *node.Config) {
		c.Framework.Masters = []string{"http://127.0.0.1:1", env.mesos.MasterURL()}
		c.Framework.Principal = "gleaner"
		c.Framework.Secret = "s3cret"
	})
	j := submit(t, []*node.Node{n}, mustSpec(t, tenThenOne))
	st, _ := waitJob(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %s", st.State)
	}
}

// A wrong secret never subscribes, so nothing runs.
func TestSchedulerWrongSecretDoesNotSubscribe(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Credentials: map[string]string{"gleaner": "s3cret"}})
	n, _ := env.startNode("a", func(c *node.Config) {
		c.Framework.Principal = "gleaner"
		c.Framework.Secret = "wrong"
	})
	waitFor(t, "a to lead", 10*time.Second, n.IsLeader)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if n.Subscribed() {
			t.Fatal("subscribed with a wrong secret")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Losing the agent requeues the instance without using a retry (retries
// is 0); the new attempt runs on the other agent; kill ends the job.
func TestSchedulerAgentLossRequeues(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: longrun
tasks:
  - name: serve
    command: "sleep 3600"
    retries: 0
`))
	var first job.Attempt
	waitFor(t, "the first attempt to run", 20*time.Second, func() bool {
		_, as := status(t, n, j.ID)
		if len(as) == 1 && as[0].State == job.AttemptRunning {
			first = as[0]
			return true
		}
		return false
	})
	victim := -1
	for i, a := range env.mesos.Agents() {
		if a.Hostname() == first.Hostname {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("no agent named %q", first.Hostname)
	}
	if err := env.mesos.KillAgent(victim); err != nil {
		t.Fatal(err)
	}
	var as []job.Attempt
	waitFor(t, "a second attempt running elsewhere", 30*time.Second, func() bool {
		_, as = status(t, n, j.ID)
		return len(as) == 2 && as[1].State == job.AttemptRunning
	})
	if as[0].State != job.AttemptLost || as[1].Hostname == first.Hostname || as[1].Attempt != 1 {
		t.Fatalf("attempts after agent loss: %+v", as)
	}
	if st, _ := status(t, n, j.ID); st.State != job.Running {
		t.Fatalf("job after agent loss: %+v", st)
	}
	if _, err := n.Kill(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	st, as := waitJob(t, n, j.ID, 30*time.Second)
	if st.State != job.Killed || as[1].State != job.AttemptKilled {
		t.Fatalf("after kill: %+v %+v", st, as)
	}
}

// An idle framework SUPPRESSes offers; a submitted job REVIVEs them, runs,
// and once nothing is pending the framework suppresses again.
func TestSchedulerSuppressAndRevive(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2})
	n, _ := env.startNode("a")
	metric := func(k string) float64 { return env.mesos.Master().Metrics()[k] }
	waitFor(t, "SUPPRESS while idle", 20*time.Second, func() bool { return metric("master/messages_suppress_offers") >= 1 })
	sup, rev := metric("master/messages_suppress_offers"), metric("master/messages_revive_offers")
	j := submit(t, []*node.Node{n}, mustSpec(t, tenThenOne))
	waitFor(t, "REVIVE after submit", 20*time.Second, func() bool { return metric("master/messages_revive_offers") > rev })
	st, _ := waitJob(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %s", st.State)
	}
	waitFor(t, "SUPPRESS again after the job", 20*time.Second, func() bool { return metric("master/messages_suppress_offers") > sup })
}

// A leader that stored an attempt as launching and died before its ACCEPT:
// the next leader reconciles it, learns Mesos never had it, and runs the
// instance as a new attempt without using a retry.
func TestSchedulerLaunchingNeverAccepted(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 1})
	cli := env.client()
	st := store.NewEtcd(cli, env.prefix)
	ctx := context.Background()
	sp := mustSpec(t, "name: orphan\ntasks: [{name: a, command: 'true', instances: 2, retries: 0}]")
	j := &job.Job{ID: "orphan-1", Spec: *sp, Submitted: time.Now().UTC()}
	if err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	agent := env.mesos.Agents()[0]
	ghost := job.Attempt{Job: j.ID, Task: "a", Index: 0, State: job.AttemptLaunching, AgentID: agent.ID().Value, Hostname: agent.Hostname(), Created: time.Now().UTC()}
	if err := st.PutAttempts(ctx, []job.Attempt{ghost}); err != nil {
		t.Fatal(err)
	}
	n, _ := env.startNode("a")
	got, as := waitJob(t, n, j.ID, 60*time.Second)
	if got.State != job.Succeeded {
		t.Fatalf("job %+v: %+v", got, as)
	}
	if len(as) != 3 || as[0].State != job.AttemptLost || as[1].Attempt != 1 || as[1].State != job.AttemptSucceeded || as[2].Index != 1 {
		t.Fatalf("attempts: %+v", as)
	}
	if got := env.mesos.Master().Metrics()["master/tasks_finished"]; got != 2 {
		t.Fatalf("mesos finished %v tasks, want 2", got)
	}
}
