package localmesos

import (
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	mcalls "github.com/mesos/mesos-go/api/v1/lib/master/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// LAUNCH_GROUP and custom executors on real simulated agents: executor_ids
// appear in later offers, and a custom executor's end gives FAILURE with
// its executor_id.
func TestLaunchGroupAndExecutors(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startRealCluster(t, Config{Agents: 1, Simulated: true})
		f := startFramework(t, c, codec, mesos.FrameworkInfo{})
		i := 0
		o := f.awaitOffers(&i)[0]
		exec := mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "group-exec"}, Type: mesos.ExecutorInfo_DEFAULT,
			Resources: mesostest.ResourcesLike(o, 0.1, 32)}
		t1, t2 := simTask("g1", o, "1h", "0"), simTask("g2", o, "1h", "0")
		t1.Command, t2.Command = nil, nil
		custom := simTask("c1", o, "1h", "0")
		custom.Command = nil
		custom.Executor = &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "custom-exec"}, Type: mesos.ExecutorInfo_CUSTOM,
			Command: &mesos.CommandInfo{Value: ptrS("./executor")}, Resources: mesostest.ResourcesLike(o, 0.1, 32)}
		f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunchGroup(exec, t1, t2), calls.OpLaunch(custom)}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
		for _, id := range []string{"g1", "g2", "c1"} {
			j := i
			e := f.await(&j, id+" running", mesostest.IsUpdate(id, mesos.TASK_RUNNING))
			if id != "c1" && e.Update.Status.GetExecutorID().GetValue() != "group-exec" {
				t.Errorf("%s executor %v", id, e.Update.Status.ExecutorID)
			}
		}
		// Later offers list the framework's executors on the agent.
		f.await(&i, "executor_ids in an offer", func(e *scheduler.Event) bool {
			if e.Type != scheduler.Event_OFFERS {
				return false
			}
			for _, x := range e.Offers.Offers {
				ids := map[string]bool{}
				for _, id := range x.ExecutorIDs {
					ids[id.Value] = true
				}
				if ids["group-exec"] && ids["custom-exec"] {
					return true
				}
			}
			return false
		})
		execs := get(t, operator(c, codec), mcalls.GetExecutors()).GetExecutors.Executors
		if len(execs) != 2 {
			t.Errorf("GET_EXECUTORS: %d executors, want 2", len(execs))
		}
		f.Call(calls.Shutdown("custom-exec", o.AgentID.Value))
		f.await(&i, "FAILURE for the custom executor", func(e *scheduler.Event) bool {
			return e.Type == scheduler.Event_FAILURE && e.Failure.GetExecutorID().GetValue() == "custom-exec" && e.Failure.AgentID != nil
		})
	})
}

func TestMarkAgentGoneAndHeartbeats(t *testing.T) {
	c := startCluster(t, Config{Agents: 1, HeartbeatInterval: 30 * time.Millisecond})
	f, o, i := launchLong(t, c, protobufCodec, mesos.FrameworkInfo{Capabilities: partitionAware()})
	j := i
	f.await(&j, "periodic heartbeat", mesostest.IsType(scheduler.Event_HEARTBEAT))
	f.await(&j, "another heartbeat", mesostest.IsType(scheduler.Event_HEARTBEAT))
	if err := noData(operator(c, protobufCodec), mcalls.MarkAgentGone(o.AgentID)); err != nil {
		t.Fatalf("MARK_AGENT_GONE: %v", err)
	}
	u := f.await(&i, "gone by operator", mesostest.IsUpdate("long", mesos.TASK_GONE_BY_OPERATOR)).Update.Status
	if u.GetReason() != mesos.REASON_AGENT_REMOVED_BY_OPERATOR {
		t.Errorf("reason %s", u.GetReason())
	}
	f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"ghost": o.AgentID.Value})))
	f.await(&i, "reconcile on a gone agent", mesostest.IsUpdate("ghost", mesos.TASK_GONE_BY_OPERATOR))
}
