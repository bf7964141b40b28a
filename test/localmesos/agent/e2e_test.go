package agent

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/callrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/eventrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/store"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"

	"github.com/gleaner-project/gleaner/test/localmesos/master"
)

// End to end with the local master and an unmodified mesos-go framework: a
// command task and a custom-executor task run on a real agent, and every
// update reaches the scheduler with a uuid and is acknowledged.
func TestEndToEndWithMaster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := master.New(master.Config{Address: ln.Addr().String(), AllocationInterval: 50 * time.Millisecond})
	srv := &http.Server{Handler: m.Handler()}
	go srv.Serve(ln) //nolint:errcheck // closed below
	t.Cleanup(func() { srv.Close(); m.Close() })
	newTestAgent(t, nil, func(c *Config) { c.Master = m })

	var mu sync.Mutex
	var updates []mesos.TaskStatus
	launched := false
	fid := store.NewInMemorySingleton()
	caller := callrules.New(callrules.WithFrameworkID(store.GetIgnoreErrors(fid))).Caller(
		httpsched.NewCaller(httpcli.New(httpcli.Endpoint("http://" + ln.Addr().String() + "/api/v1/scheduler"))))
	onOffers := func(ctx context.Context, e *scheduler.Event) error {
		mu.Lock()
		defer mu.Unlock()
		offers := e.GetOffers().GetOffers()
		if launched || len(offers) == 0 {
			return nil
		}
		launched = true
		o := offers[0]
		cmd := mesos.TaskInfo{Name: "cmd", TaskID: mesos.TaskID{Value: "cmd"}, AgentID: o.AgentID,
			Resources: []mesos.Resource{cpus(0.1), memory(32)}, Command: &mesos.CommandInfo{Value: strPtr("echo hi")}}
		custom := mesos.TaskInfo{Name: "custom", TaskID: mesos.TaskID{Value: "custom"}, AgentID: o.AgentID,
			Resources: []mesos.Resource{cpus(0.1), memory(32)}, Executor: testExecutor("e2e-exec", "finish")}
		custom.Executor.Resources = []mesos.Resource{cpus(0.1), memory(32)}
		accept := calls.Accept(calls.OfferOperations{calls.OpLaunch(cmd, custom)}.WithOffers(o.ID))
		return calls.CallNoData(ctx, caller, accept)
	}
	onUpdate := func(ctx context.Context, e *scheduler.Event) error {
		mu.Lock()
		defer mu.Unlock()
		updates = append(updates, e.GetUpdate().GetStatus())
		return nil
	}
	handler := eventrules.New(controller.LiftErrors().DropOnError()).Handle(events.Handlers{
		scheduler.Event_SUBSCRIBED: controller.TrackSubscription(fid, 0),
		scheduler.Event_OFFERS:     events.HandlerFunc(onOffers),
		scheduler.Event_UPDATE:     controller.AckStatusUpdates(caller).AndThen().HandleF(onUpdate),
	}.Otherwise(events.NoopHandler.HandleEvent))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controller.Run(ctx, &mesos.FrameworkInfo{User: "root", Name: "e2e"}, caller,
			controller.WithEventHandler(handler), controller.WithFrameworkID(store.GetIgnoreErrors(fid)))
	}()
	defer func() { cancel(); <-done }()

	finished := func(task string) bool {
		for _, u := range updates {
			if u.TaskID.Value == task && u.GetState() == mesos.TASK_FINISHED {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		ok := finished("cmd") && finished("custom")
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("tasks did not finish; updates: %+v", updates)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var cmdStates []mesos.TaskState
	for _, u := range updates {
		if len(u.UUID) != 16 || u.AgentID == nil {
			t.Errorf("update without uuid or agent id: %+v", u)
		}
		if u.TaskID.Value == "cmd" {
			cmdStates = append(cmdStates, u.GetState())
		}
	}
	if !equalStates(cmdStates, []mesos.TaskState{mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_FINISHED}) {
		t.Errorf("command task states at the scheduler = %v", cmdStates)
	}
}

func cpus(v float64) mesos.Resource {
	return mesos.Resource{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

func memory(v float64) mesos.Resource {
	return mesos.Resource{Name: "mem", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}
