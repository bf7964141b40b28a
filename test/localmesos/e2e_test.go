package localmesos

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/agent"
	acalls "github.com/mesos/mesos-go/api/v1/lib/agent/calls"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpagent"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	localagent "github.com/gleaner-project/gleaner/test/localmesos/agent"
	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// End to end with real local agents: the command executor runs real shell
// commands in sandboxes.
func TestCommandTaskEndToEnd(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startRealCluster(t, Config{Agents: 2, Resources: "cpus:2;mem:1024"})
		f := startFramework(t, c, codec, mesos.FrameworkInfo{
			Capabilities: []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE}}})
		i := 0
		offers := f.awaitOffers(&i)
		o := offers[0]
		ok := commandTask("ok", o, "echo hello from the sandbox; exit 0", 0.5, 64)
		bad := commandTask("bad", o, "exit 3", 0.5, 64)
		long := commandTask("long", o, "sleep 60", 0.5, 64)
		f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(ok, bad, long)}.WithOffers(o.ID)))
		j, k := i, i
		fin := f.await(&i, "ok finished", mesostest.IsUpdate("ok", mesos.TASK_FINISHED)).Update.Status
		if fin.GetSource() != mesos.SOURCE_EXECUTOR || len(fin.UUID) != 16 || fin.ExecutorID == nil || fin.ExecutorID.Value != "ok" {
			t.Errorf("finished update: %+v", fin)
		}
		failed := f.await(&j, "bad failed", mesostest.IsUpdate("bad", mesos.TASK_FAILED)).Update.Status
		if !strings.Contains(failed.GetMessage(), "3") {
			t.Errorf("failed update message %q", failed.GetMessage())
		}
		f.await(&k, "long running", mesostest.IsUpdate("long", mesos.TASK_RUNNING))
		f.Call(calls.Kill("long", o.AgentID.Value))
		f.await(&k, "long killing", mesostest.IsUpdate("long", mesos.TASK_KILLING))
		f.await(&k, "long killed", mesostest.IsUpdate("long", mesos.TASK_KILLED))

		// The sandbox holds the command's stdout.
		var found bool
		_ = filepath.WalkDir(c.cfg.WorkDir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Name() == "stdout" && strings.Contains(p, "/executors/ok/") {
				b, _ := os.ReadFile(p)
				found = found || strings.Contains(string(b), "hello from the sandbox")
			}
			return nil
		})
		if !found {
			t.Errorf("no sandbox stdout with the task's output under %s", c.cfg.WorkDir)
		}
		// The agent's own API answers on the advertised endpoint.
		var ag *Agent
		for _, a := range c.Agents() {
			if a.ID() == o.AgentID {
				ag = a
			}
		}
		sender := httpagent.NewSender(httpcli.New(httpcli.Endpoint("http://" + ag.Endpoint() + "/api/v1")).Send)
		resp, err := sender.Send(context.Background(), acalls.NonStreaming(acalls.GetHealth()))
		if err != nil {
			t.Fatalf("agent GET_HEALTH: %v", err)
		}
		var r agent.Response
		if err := resp.Decode(&r); err != nil || !r.GetHealth.Healthy {
			t.Errorf("agent GET_HEALTH: %v %+v", err, r)
		}
		resp.Close()
	})
}

func simTask(id string, o mesos.Offer, duration string, code string) mesos.TaskInfo {
	ti := commandTask(id, o, "true", 0.1, 32)
	ti.Labels = &mesos.Labels{Labels: []mesos.Label{
		{Key: localagent.SimDurationLabel, Value: &duration}, {Key: localagent.SimExitCodeLabel, Value: &code}}}
	return ti
}

// Simulated agents, agent kill and restart, and master restart, all with
// real agents.
func TestSimulatedAgentFailures(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startRealCluster(t, Config{Agents: 2, Simulated: true})
		f := startFramework(t, c, codec, mesos.FrameworkInfo{FailoverTimeout: ptrF(3600), Capabilities: partitionAware()})
		i := 0
		o := f.awaitOffers(&i)[0]
		f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(
			simTask("quick", o, "0s", "0"), simTask("fails", o, "0s", "2"), simTask("long", o, "1h", "0"))}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
		j, k := i, i
		f.await(&i, "quick finished", mesostest.IsUpdate("quick", mesos.TASK_FINISHED))
		f.await(&j, "fails failed", mesostest.IsUpdate("fails", mesos.TASK_FAILED))
		f.await(&k, "long running", mesostest.IsUpdate("long", mesos.TASK_RUNNING))
		i = max(i, j, k)

		// A master failover: the framework re-subscribes with its ID and the
		// re-registered agent still reports the task.
		if err := c.RestartMaster(); err != nil {
			t.Fatal(err)
		}
		f.await(&i, "re-subscribed", mesostest.IsType(scheduler.Event_SUBSCRIBED))
		f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"long": o.AgentID.Value})))
		f.await(&i, "long known after master restart", mesostest.IsUpdate("long", mesos.TASK_RUNNING))

		// Killing the agent: UNREACHABLE (partition aware) and FAILURE.
		idx := 0
		if c.Agents()[1].ID() == o.AgentID {
			idx = 1
		}
		if err := c.KillAgent(idx); err != nil {
			t.Fatal(err)
		}
		u := f.await(&i, "long unreachable", mesostest.IsUpdate("long", mesos.TASK_UNREACHABLE)).Update.Status
		if u.GetReason() != mesos.REASON_AGENT_REMOVED || len(u.UUID) != 0 {
			t.Errorf("unreachable update %+v", u)
		}
		f.await(&i, "FAILURE", func(e *scheduler.Event) bool {
			return e.Type == scheduler.Event_FAILURE && e.Failure.AgentID != nil && *e.Failure.AgentID == o.AgentID && e.Failure.ExecutorID == nil
		})
		if err := c.RestartAgent(idx); err != nil {
			t.Fatal(err)
		}
		// The host died with its simulated executor: the task ends when the
		// agent comes back.
		f.await(&i, "long ends after the agent restart", func(e *scheduler.Event) bool {
			return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == "long" &&
				e.Update.Status.GetState() != mesos.TASK_UNREACHABLE && e.Update.Status.GetState() != mesos.TASK_RUNNING
		})
	})
}
