package localmesos

import (
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

func partitionAware() []mesos.FrameworkInfo_Capability {
	return []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE}}
}

func TestInvalidOffers(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		for _, aware := range []bool{false, true} {
			c := startCluster(t, Config{Agents: 2})
			info := mesos.FrameworkInfo{}
			lost := mesos.TASK_LOST
			if aware {
				info.Capabilities = partitionAware()
				lost = mesos.TASK_DROPPED
			}
			f := startFramework(t, c, codec, info)
			i := 0
			offers := f.awaitOffers(&i)
			if len(offers) != 2 {
				t.Fatalf("want 2 offers, got %d", len(offers))
			}
			// Two agents in one ACCEPT.
			f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("two", offers[0], "exit 0", 1, 64))}.WithOffers(offers[0].ID, offers[1].ID)))
			e := f.await(&i, "update for two", mesostest.IsUpdate("two", lost))
			st := e.Update.Status
			if st.GetReason() != mesos.REASON_INVALID_OFFERS || st.GetSource() != mesos.SOURCE_MASTER || len(st.UUID) != 0 ||
				!strings.Contains(st.GetMessage(), "Aggregated offers must belong to one single agent") {
				t.Errorf("two-agent accept: %+v", st)
			}
			// Both agents are re-offered, unfiltered.
			again := f.awaitOffers(&i)
			for len(again) < 2 {
				again = append(again, f.awaitOffers(&i)...)
			}
			// A declined offer is stale.
			o := again[0]
			f.Call(calls.Decline(o.ID).With(calls.RefuseSeconds(time.Hour)))
			f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("stale", o, "exit 0", 1, 64))}.WithOffers(o.ID)))
			e = f.await(&i, "update for stale", mesostest.IsUpdate("stale", lost))
			if st := e.Update.Status; st.GetReason() != mesos.REASON_INVALID_OFFERS ||
				!strings.Contains(st.GetMessage(), "Offer "+o.ID.Value+" is no longer valid") {
				t.Errorf("stale offer: %+v", st)
			}
			// Unknown offer.
			f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("unknown", o, "exit 0", 1, 64))}.WithOffers(mesos.OfferID{Value: "nope"})))
			f.await(&i, "update for unknown", mesostest.IsUpdate("unknown", lost))
			metrics := c.Master().Metrics()
			name := "master/tasks_lost"
			if aware {
				name = "master/tasks_dropped"
			}
			if metrics[name] < 3 {
				t.Errorf("%s = %v, want >= 3", name, metrics[name])
			}
		}
	})
}

func TestTaskValidation(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 2, Resources: "cpus:2;mem:1024"})
		f := startFramework(t, c, codec, mesos.FrameworkInfo{})
		i := 0
		offers := f.awaitOffers(&i)
		o, other := offers[0], offers[1]
		wrongAgent := commandTask("wrong-agent", o, "exit 0", 0.5, 64)
		wrongAgent.AgentID = other.AgentID
		tooBig := commandTask("too-big", o, "exit 0", 8, 64)
		noRes := commandTask("no-resources", o, "exit 0", 0.5, 64)
		noRes.Resources = nil
		both := commandTask("both", o, "exit 0", 0.5, 64)
		both.Executor = &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e"}, Type: mesos.ExecutorInfo_CUSTOM, Command: &mesos.CommandInfo{}}
		unknownType := commandTask("executor-type", o, "", 0.5, 64)
		unknownType.Command = nil
		unknownType.Executor = &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e"}, Command: &mesos.CommandInfo{}}
		good := commandTask("good", o, "sleep", 0.5, 64)
		dup := commandTask("good", o, "sleep", 0.5, 64)
		f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(wrongAgent, tooBig, noRes, both, unknownType, good, dup)}.WithOffers(o.ID)))
		for _, id := range []string{"wrong-agent", "too-big", "no-resources", "both", "executor-type"} {
			e := f.await(&i, "TASK_ERROR "+id, mesostest.IsUpdate(id, mesos.TASK_ERROR))
			if st := e.Update.Status; st.GetReason() != mesos.REASON_TASK_INVALID || len(st.UUID) != 0 || st.GetSource() != mesos.SOURCE_MASTER {
				t.Errorf("%s: %+v", id, st)
			}
		}
		j := i
		f.await(&i, "good running", mesostest.IsUpdate("good", mesos.TASK_RUNNING))
		f.await(&j, "duplicate rejected", mesostest.IsUpdate("good", mesos.TASK_ERROR))
	})
}

func TestDeclineReviveSuppress(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 1})
		f := startFramework(t, c, codec, mesos.FrameworkInfo{})
		i := 0
		o := f.awaitOffers(&i)[0]
		f.Call(calls.Decline(o.ID).With(calls.RefuseSeconds(time.Hour)))
		f.None(i, 300*time.Millisecond, "offer while refused", mesostest.IsType(scheduler.Event_OFFERS))
		f.Call(calls.Revive())
		o2 := f.awaitOffers(&i)[0]
		if o2.ID == o.ID {
			t.Errorf("offer ID %s reused", o.ID.Value)
		}
		f.Call(calls.Suppress())
		f.Call(calls.Decline(o2.ID).With(calls.RefuseSeconds(0)))
		f.None(i, 300*time.Millisecond, "offer while suppressed", mesostest.IsType(scheduler.Event_OFFERS))
		// A role the framework lacks makes REVIVE a no-op (still 202).
		f.Call(calls.ReviveWith([]string{"not-mine"}))
		f.None(i, 200*time.Millisecond, "offer after bad revive", mesostest.IsType(scheduler.Event_OFFERS))
		f.Call(calls.Revive())
		f.awaitOffers(&i)
		// Decline of an unknown offer and REQUEST are accepted and ignored.
		f.Call(calls.Decline(mesos.OfferID{Value: "unknown"}))
		f.Call(calls.Request(mesos.Request{}))
		// TEARDOWN (mesos-go has no builder for it) ends the subscription;
		// with failover_timeout 0 the controller comes back as a new
		// framework.
		old := f.ID()
		f.Call(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
		e := f.await(&i, "SUBSCRIBED as a new framework", mesostest.IsType(scheduler.Event_SUBSCRIBED))
		if e.Subscribed.FrameworkID.Value == old {
			t.Errorf("framework ID %s reused after TEARDOWN", old)
		}
	})
}

func TestKillReconcileMessageShutdown(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		for _, aware := range []bool{false, true} {
			c := startCluster(t, Config{Agents: 1})
			info := mesos.FrameworkInfo{}
			if aware {
				info.Capabilities = partitionAware()
			}
			f := startFramework(t, c, codec, info)
			i := 0
			o := f.awaitOffers(&i)[0]
			f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(
				commandTask("long", o, "sleep", 1, 64), commandTask("other", o, "sleep", 1, 64))}.WithOffers(o.ID)))
			f.await(&i, "long running", mesostest.IsUpdate("long", mesos.TASK_RUNNING))
			f.await(&i, "other running", mesostest.IsUpdate("other", mesos.TASK_RUNNING))

			check := func(e *scheduler.Event, state mesos.TaskState) {
				t.Helper()
				st := e.Update.Status
				if st.GetState() != state || st.GetReason() != mesos.REASON_RECONCILIATION || st.GetSource() != mesos.SOURCE_MASTER || len(st.UUID) != 0 {
					t.Errorf("reconcile %s: %+v, want %s", st.TaskID.Value, st, state)
				}
			}
			// Explicit reconciliation.
			f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"long": o.AgentID.Value})))
			check(f.await(&i, "reconcile long", mesostest.IsUpdate("long", mesos.TASK_RUNNING)), mesos.TASK_RUNNING)
			unknownOnAgent, unknownNoAgent := mesos.TASK_LOST, mesos.TASK_LOST
			if aware {
				unknownOnAgent, unknownNoAgent = mesos.TASK_GONE, mesos.TASK_UNKNOWN
			}
			f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"ghost": o.AgentID.Value})))
			check(f.await(&i, "reconcile ghost", mesostest.IsUpdate("ghost", unknownOnAgent)), unknownOnAgent)
			f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"ghost2": ""})))
			check(f.await(&i, "reconcile ghost2", mesostest.IsUpdate("ghost2", unknownNoAgent)), unknownNoAgent)
			// Implicit reconciliation reports every known task.
			f.Call(calls.Reconcile())
			check(f.await(&i, "implicit long", mesostest.IsUpdate("long", mesos.TASK_RUNNING)), mesos.TASK_RUNNING)
			// MESSAGE reaches the executor (the fake agent echoes it back).
			f.Call(calls.Message(o.AgentID.Value, "long", []byte("ping")))
			if e := f.await(&i, "MESSAGE", mesostest.IsType(scheduler.Event_MESSAGE)); string(e.Message.Data) != "ping" {
				t.Errorf("message data %q", e.Message.Data)
			}
			// KILL and SHUTDOWN.
			f.Call(calls.Kill("long", o.AgentID.Value))
			e := f.await(&i, "long killed", mesostest.IsUpdate("long", mesos.TASK_KILLED))
			if len(e.Update.Status.UUID) == 0 {
				t.Errorf("kill update has no uuid")
			}
			f.Call(calls.Shutdown("other", o.AgentID.Value))
			f.await(&i, "other killed", mesostest.IsUpdate("other", mesos.TASK_KILLED))
			f.Call(calls.Kill("ghost", ""))
			e = f.await(&i, "kill unknown", func(e *scheduler.Event) bool {
				return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == "ghost"
			})
			if st := e.Update.Status; st.GetReason() != mesos.REASON_RECONCILIATION || st.GetMessage() != "Reconciliation: Task is unknown" {
				t.Errorf("kill of unknown task: %+v", st)
			}
			if !aware && e.Update.Status.GetState() != mesos.TASK_LOST {
				t.Errorf("kill of unknown task: %s, want TASK_LOST", e.Update.Status.GetState())
			}
		}
	})
}

// A terminal state behind an unacknowledged update frees the task's
// resources at once; the terminal update follows the acknowledgement.
func TestResourcesFreedBeforeAck(t *testing.T) {
	c := startCluster(t, Config{Agents: 1, Resources: "cpus:1;mem:128"})
	f := startFramework(t, c, protobufCodec, mesos.FrameworkInfo{}, noAutoAck())
	i := 0
	o := f.awaitOffers(&i)[0]
	f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("quick", o, "exit 0", 1, 128))}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
	running := f.await(&i, "RUNNING", mesostest.IsUpdate("quick", mesos.TASK_RUNNING)).Update.Status
	again := f.awaitOffers(&i)[0]
	var cpus float64
	for _, r := range again.Resources {
		if r.Name == "cpus" {
			cpus += r.GetScalar().GetValue()
		}
	}
	if cpus != 1 {
		t.Errorf("re-offered %v cpus before the ack, want 1", cpus)
	}
	f.None(i, 100*time.Millisecond, "FINISHED before RUNNING is acknowledged", mesostest.IsUpdate("quick", mesos.TASK_FINISHED))
	f.Call(calls.Acknowledge(running.AgentID.Value, "quick", running.UUID))
	f.await(&i, "FINISHED after the ack", mesostest.IsUpdate("quick", mesos.TASK_FINISHED))
}
