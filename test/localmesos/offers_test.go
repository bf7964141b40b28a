package localmesos

import (
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
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
			f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("two", offers[0], "exit 0", 1, 64))}.WithOffers(offers[0].ID, offers[1].ID)))
			e := f.await(&i, "update for two", isUpdate("two", lost))
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
			f.call(calls.Decline(o.ID).With(calls.RefuseSeconds(time.Hour)))
			f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("stale", o, "exit 0", 1, 64))}.WithOffers(o.ID)))
			e = f.await(&i, "update for stale", isUpdate("stale", lost))
			if st := e.Update.Status; st.GetReason() != mesos.REASON_INVALID_OFFERS ||
				!strings.Contains(st.GetMessage(), "Offer "+o.ID.Value+" is no longer valid") {
				t.Errorf("stale offer: %+v", st)
			}
			// Unknown offer.
			f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("unknown", o, "exit 0", 1, 64))}.WithOffers(mesos.OfferID{Value: "nope"})))
			f.await(&i, "update for unknown", isUpdate("unknown", lost))
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
		f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(wrongAgent, tooBig, noRes, both, unknownType, good, dup)}.WithOffers(o.ID)))
		for _, id := range []string{"wrong-agent", "too-big", "no-resources", "both", "executor-type"} {
			e := f.await(&i, "TASK_ERROR "+id, isUpdate(id, mesos.TASK_ERROR))
			if st := e.Update.Status; st.GetReason() != mesos.REASON_TASK_INVALID || len(st.UUID) != 0 || st.GetSource() != mesos.SOURCE_MASTER {
				t.Errorf("%s: %+v", id, st)
			}
		}
		j := i
		f.await(&i, "good running", isUpdate("good", mesos.TASK_RUNNING))
		f.await(&j, "duplicate rejected", isUpdate("good", mesos.TASK_ERROR))
	})
}

func TestDeclineReviveSuppress(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 1})
		f := startFramework(t, c, codec, mesos.FrameworkInfo{})
		i := 0
		o := f.awaitOffers(&i)[0]
		f.call(calls.Decline(o.ID).With(calls.RefuseSeconds(time.Hour)))
		f.none(i, 300*time.Millisecond, "offer while refused", isType(scheduler.Event_OFFERS))
		f.call(calls.Revive())
		o2 := f.awaitOffers(&i)[0]
		if o2.ID == o.ID {
			t.Errorf("offer ID %s reused", o.ID.Value)
		}
		f.call(calls.Suppress())
		f.call(calls.Decline(o2.ID).With(calls.RefuseSeconds(0)))
		f.none(i, 300*time.Millisecond, "offer while suppressed", isType(scheduler.Event_OFFERS))
		// A role the framework lacks makes REVIVE a no-op (still 202).
		f.call(calls.ReviveWith([]string{"not-mine"}))
		f.none(i, 200*time.Millisecond, "offer after bad revive", isType(scheduler.Event_OFFERS))
		f.call(calls.Revive())
		f.awaitOffers(&i)
		// Decline of an unknown offer and REQUEST are accepted and ignored.
		f.call(calls.Decline(mesos.OfferID{Value: "unknown"}))
		f.call(calls.Request(mesos.Request{}))
		// TEARDOWN (mesos-go has no builder for it) ends the subscription;
		// with failover_timeout 0 the controller comes back as a new
		// framework.
		old := f.ID()
		f.call(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
		e := f.await(&i, "SUBSCRIBED as a new framework", isType(scheduler.Event_SUBSCRIBED))
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
			f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(
				commandTask("long", o, "sleep", 1, 64), commandTask("other", o, "sleep", 1, 64))}.WithOffers(o.ID)))
			f.await(&i, "long running", isUpdate("long", mesos.TASK_RUNNING))
			f.await(&i, "other running", isUpdate("other", mesos.TASK_RUNNING))

			check := func(e *scheduler.Event, state mesos.TaskState) {
				t.Helper()
				st := e.Update.Status
				if st.GetState() != state || st.GetReason() != mesos.REASON_RECONCILIATION || st.GetSource() != mesos.SOURCE_MASTER || len(st.UUID) != 0 {
					t.Errorf("reconcile %s: %+v, want %s", st.TaskID.Value, st, state)
				}
			}
			// Explicit reconciliation.
			f.call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"long": o.AgentID.Value})))
			check(f.await(&i, "reconcile long", isUpdate("long", mesos.TASK_RUNNING)), mesos.TASK_RUNNING)
			unknownOnAgent, unknownNoAgent := mesos.TASK_LOST, mesos.TASK_LOST
			if aware {
				unknownOnAgent, unknownNoAgent = mesos.TASK_GONE, mesos.TASK_UNKNOWN
			}
			f.call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"ghost": o.AgentID.Value})))
			check(f.await(&i, "reconcile ghost", isUpdate("ghost", unknownOnAgent)), unknownOnAgent)
			f.call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"ghost2": ""})))
			check(f.await(&i, "reconcile ghost2", isUpdate("ghost2", unknownNoAgent)), unknownNoAgent)
			// Implicit reconciliation reports every known task.
			f.call(calls.Reconcile())
			check(f.await(&i, "implicit long", isUpdate("long", mesos.TASK_RUNNING)), mesos.TASK_RUNNING)
			// MESSAGE reaches the executor (the fake agent echoes it back).
			f.call(calls.Message(o.AgentID.Value, "long", []byte("ping")))
			if e := f.await(&i, "MESSAGE", isType(scheduler.Event_MESSAGE)); string(e.Message.Data) != "ping" {
				t.Errorf("message data %q", e.Message.Data)
			}
			// KILL and SHUTDOWN.
			f.call(calls.Kill("long", o.AgentID.Value))
			e := f.await(&i, "long killed", isUpdate("long", mesos.TASK_KILLED))
			if len(e.Update.Status.UUID) == 0 {
				t.Errorf("kill update has no uuid")
			}
			f.call(calls.Shutdown("other", o.AgentID.Value))
			f.await(&i, "other killed", isUpdate("other", mesos.TASK_KILLED))
			f.call(calls.Kill("ghost", ""))
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
	f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("quick", o, "exit 0", 1, 128))}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
	running := f.await(&i, "RUNNING", isUpdate("quick", mesos.TASK_RUNNING)).Update.Status
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
	f.none(i, 100*time.Millisecond, "FINISHED before RUNNING is acknowledged", isUpdate("quick", mesos.TASK_FINISHED))
	f.call(calls.Acknowledge(running.AgentID.Value, "quick", running.UUID))
	f.await(&i, "FINISHED after the ack", isUpdate("quick", mesos.TASK_FINISHED))
}
