package localmesos

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// The master counts what a framework should never do: KILL a task it
// knows ended, and acknowledge an update a second time.
func TestMasterCountsKillsOfEndedTasksAndRepeatedAcks(t *testing.T) {
	c := startCluster(t, Config{Agents: 1})
	f := startFramework(t, c, codecs.ByMediaType[codecs.MediaTypeProtobuf], mesos.FrameworkInfo{})
	i := 0
	o := f.awaitOffers(&i)[0]
	f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("t1", o, "exit 0", 1, 128))}.WithOffers(o.ID)))
	fin := f.await(&i, "UPDATE TASK_FINISHED", mesostest.IsUpdate("t1", mesos.TASK_FINISHED)).Update.Status
	m := c.Master()
	waitFor(t, "both updates acknowledged", func() bool {
		return m.Metrics()["master/messages_status_update_acknowledgement"] >= 2
	})
	if got := m.Metrics(); got["localmesos/kills_of_terminal_tasks"] != 0 || got["localmesos/unexpected_status_update_acknowledgements"] != 0 {
		t.Fatalf("counted before any mistake: %v kills, %v acks", got["localmesos/kills_of_terminal_tasks"], got["localmesos/unexpected_status_update_acknowledgements"])
	}
	f.Call(calls.Kill("t1", o.AgentID.Value))
	f.Call(calls.Acknowledge(o.AgentID.Value, "t1", fin.UUID))
	waitFor(t, "the mistakes counted", func() bool {
		got := m.Metrics()
		return got["localmesos/kills_of_terminal_tasks"] == 1 && got["localmesos/unexpected_status_update_acknowledgements"] == 1
	})
}
