package localmesos

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// launchLong subscribes a framework and starts one long-running task.
func launchLong(t *testing.T, c *Cluster, codec encoding.Codec, info mesos.FrameworkInfo) (*fw, mesos.Offer, int) {
	t.Helper()
	f := startFramework(t, c, codec, info)
	i := 0
	o := f.awaitOffers(&i)[0]
	f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("long", o, "sleep", 1, 64))}.WithOffers(o.ID)))
	f.await(&i, "long running", mesostest.IsUpdate("long", mesos.TASK_RUNNING))
	return f, o, i
}

func TestResubscribeKeepsTasks(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 1})
		f, _, i := launchLong(t, c, codec, mesos.FrameworkInfo{FailoverTimeout: ptrF(3600)})
		id := f.ID()
		c.BreakSchedulerStreams()
		e := f.await(&i, "re-SUBSCRIBED", mesostest.IsType(scheduler.Event_SUBSCRIBED))
		if e.Subscribed.FrameworkID.Value != id {
			t.Fatalf("re-subscribed as %s, want %s", e.Subscribed.FrameworkID.Value, id)
		}
		f.Call(calls.Reconcile())
		f.await(&i, "task survives", mesostest.IsUpdate("long", mesos.TASK_RUNNING))
	})
}

func TestFailoverTimeoutKillsTasks(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 1})
		f, _, _ := launchLong(t, c, codec, mesos.FrameworkInfo{FailoverTimeout: ptrF(0.2)})
		id := f.ID()
		f.Stop() // the scheduler goes away for good
		a := c.Agents()[0]
		waitFor(t, "framework shut down on the agent", func() bool {
			for _, call := range a.fake.Calls() {
				if call == "shutdown-framework:"+id {
					return true
				}
			}
			return false
		})
		waitFor(t, "task gone from the agent", func() bool { return len(a.fake.Running()) == 0 })
		s := rawSubscribe(t, c, mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: id}})
		if e := s.next(t, scheduler.Event_ERROR); e.Error.Message != "Framework has been removed" {
			t.Errorf("re-subscribe after failover timeout: %q", e.Error.Message)
		}
	})
}

func TestAgentKill(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		for _, aware := range []bool{false, true} {
			c := startCluster(t, Config{Agents: 2})
			info := mesos.FrameworkInfo{}
			want := mesos.TASK_LOST
			if aware {
				info.Capabilities = partitionAware()
				want = mesos.TASK_UNREACHABLE
			}
			f := startFramework(t, c, codec, info)
			i := 0
			offers := f.awaitOffers(&i)
			o, spare := offers[0], offers[1]
			f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("victim", o, "sleep", 1, 64))}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
			// The agent's remaining resources may be offered before the
			// victim's RUNNING update arrives: look for them from here.
			afterAccept := i
			f.await(&i, "victim running", mesostest.IsUpdate("victim", mesos.TASK_RUNNING))
			agent := 0
			if c.Agents()[1].ID() == o.AgentID {
				agent = 1
			}
			if c.Agents()[1-agent].ID() != spare.AgentID {
				t.Fatalf("spare offer is not on the other agent")
			}
			// Hold an offer on the victim's agent, then kill the agent.
			j := afterAccept
			var held mesos.Offer
			for held.ID.Value == "" {
				for _, x := range f.awaitOffers(&j) {
					if x.AgentID == o.AgentID {
						held = x
					}
				}
			}
			if err := c.KillAgent(agent); err != nil {
				t.Fatal(err)
			}
			e := f.await(&i, "RESCIND", func(e *scheduler.Event) bool {
				return e.Type == scheduler.Event_RESCIND && e.Rescind.OfferID == held.ID
			})
			_ = e
			u := f.await(&i, "victim lost", mesostest.IsUpdate("victim", want)).Update.Status
			if u.GetReason() != mesos.REASON_AGENT_REMOVED || len(u.UUID) != 0 {
				t.Errorf("victim update: %+v", u)
			}
			fl := f.await(&i, "FAILURE", mesostest.IsType(scheduler.Event_FAILURE)).Failure
			if fl.AgentID == nil || *fl.AgentID != o.AgentID || fl.ExecutorID != nil {
				t.Errorf("FAILURE: %+v", fl)
			}
			// The agent comes back with its task.
			if err := c.RestartAgent(agent); err != nil {
				t.Fatal(err)
			}
			f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"victim": o.AgentID.Value})))
			f.await(&i, "victim back", mesostest.IsUpdate("victim", mesos.TASK_RUNNING))
		}
	})
}

func TestRestartMaster(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 1})
		f, o, i := launchLong(t, c, codec, mesos.FrameworkInfo{FailoverTimeout: ptrF(3600)})
		id, oldMaster := f.ID(), c.Master().ID()
		// The fake agent does not retry updates: let the ack land first.
		waitFor(t, "RUNNING acknowledged", func() bool { return c.Agents()[0].fake.Unacknowledged() == 0 })
		if err := c.RestartMaster(); err != nil {
			t.Fatal(err)
		}
		if c.Master().ID() == oldMaster {
			t.Fatalf("master ID unchanged after restart")
		}
		e := f.await(&i, "SUBSCRIBED to the new master", mesostest.IsType(scheduler.Event_SUBSCRIBED))
		if e.Subscribed.FrameworkID.Value != id || e.Subscribed.MasterInfo.ID == oldMaster {
			t.Fatalf("subscribed as %s to %s", e.Subscribed.FrameworkID.Value, e.Subscribed.MasterInfo.ID)
		}
		f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"long": o.AgentID.Value})))
		f.await(&i, "task known to the new master", mesostest.IsUpdate("long", mesos.TASK_RUNNING))
		j := i
		f.Call(calls.Kill("long", o.AgentID.Value))
		f.await(&i, "task killed through the new master", mesostest.IsUpdate("long", mesos.TASK_KILLED))
		f.awaitOffers(&j)
	})
}
