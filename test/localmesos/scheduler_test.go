package localmesos

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

func TestSubscribeOffersLaunchAck(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 2, Attributes: "rack:r1;zone:a"})
		f := startFramework(t, c, codec, mesos.FrameworkInfo{})
		i := 0
		sub := f.await(&i, "SUBSCRIBED", mesostest.IsType(scheduler.Event_SUBSCRIBED))
		if got := sub.Subscribed.GetHeartbeatIntervalSeconds(); got != 15 {
			t.Errorf("heartbeat interval = %v, want 15", got)
		}
		f.await(&i, "HEARTBEAT", mesostest.IsType(scheduler.Event_HEARTBEAT))
		offers := f.awaitOffers(&i)
		if len(offers) != 2 {
			t.Fatalf("got %d offers, want one per agent (2)", len(offers))
		}
		o := offers[0]
		if o.Hostname == "" || o.AgentID.Value == "" || o.FrameworkID.Value != f.ID() {
			t.Errorf("offer misses required fields: %+v", o)
		}
		if len(o.Attributes) != 2 {
			t.Errorf("offer attributes = %v, want rack and zone", o.Attributes)
		}
		for _, r := range o.Resources {
			if r.GetRole() != "*" || r.AllocationInfo != nil {
				t.Errorf("resource %s for a plain framework: role %q allocation %v", r.Name, r.GetRole(), r.AllocationInfo)
			}
		}
		f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("t1", o, "exit 0", 1, 128))}.WithOffers(o.ID)))
		for _, st := range []mesos.TaskState{mesos.TASK_RUNNING, mesos.TASK_FINISHED} {
			e := f.await(&i, "UPDATE "+st.String(), mesostest.IsUpdate("t1", st))
			s := e.Update.Status
			if len(s.UUID) != 16 || s.AgentID == nil || s.AgentID.Value != o.AgentID.Value || s.Timestamp == nil {
				t.Errorf("update %s: uuid %x agent %v timestamp %v", st, s.UUID, s.AgentID, s.Timestamp)
			}
		}
	})
}
