package localmesos

import (
	"context"
	"slices"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// The master answers ACCEPT and KILL without waiting for the agent (202,
// the agent told asynchronously, as Mesos does), and the agent still gets
// the calls in the order they were made.
func TestAgentCallsDoNotHoldTheAnswer(t *testing.T) {
	c := startCluster(t, Config{Agents: 1})
	f := startFramework(t, c, protobufCodec, mesos.FrameworkInfo{})
	i := 0
	o := f.awaitOffers(&i)[0]
	a := c.Agents()[0]
	release := a.fake.Hold()
	defer release()
	answered := make(chan error, 1)
	go func() {
		ctx := context.Background()
		err := calls.CallNoData(ctx, f.Caller, calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("held", o, "sleep", 1, 64))}.WithOffers(o.ID)))
		if err == nil {
			err = calls.CallNoData(ctx, f.Caller, calls.Kill("held", o.AgentID.Value))
		}
		answered <- err
	}()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ACCEPT and KILL were not answered while the agent was held: the master waited for the agent")
	}
	release()
	f.await(&i, "the task killed", mesostest.IsUpdate("held", mesos.TASK_KILLED))
	if got, want := a.fake.Calls(), []string{"launch", "kill:held"}; !slices.Equal(got, want) {
		t.Fatalf("the agent got %v, want %v in that order", got, want)
	}
}
