package agent

import (
	"net"
	"net/http"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/master"
	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
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

	f := mesostest.Start(t, mesostest.Config{MasterURL: "http://" + ln.Addr().String(), Info: mesos.FrameworkInfo{User: "root", Name: "e2e"}})
	from := 0
	o := f.Await(&from, "offers", 30*time.Second, func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_OFFERS && len(e.GetOffers().GetOffers()) > 0
	}).GetOffers().GetOffers()[0]
	cmd := mesos.TaskInfo{Name: "cmd", TaskID: mesos.TaskID{Value: "cmd"}, AgentID: o.AgentID,
		Resources: []mesos.Resource{cpus(0.1), memory(32)}, Command: &mesos.CommandInfo{Value: strPtr("echo hi")}}
	custom := mesos.TaskInfo{Name: "custom", TaskID: mesos.TaskID{Value: "custom"}, AgentID: o.AgentID,
		Resources: []mesos.Resource{cpus(0.1), memory(32)}, Executor: testExecutor("e2e-exec", "finish")}
	custom.Executor.Resources = []mesos.Resource{cpus(0.1), memory(32)}
	f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(cmd, custom)}.WithOffers(o.ID)))

	var updates []mesos.TaskStatus
	finished := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for !finished["cmd"] || !finished["custom"] {
		u := f.Await(&from, "tasks to finish", time.Until(deadline), mesostest.IsType(scheduler.Event_UPDATE)).GetUpdate().GetStatus()
		updates = append(updates, u)
		if u.GetState() == mesos.TASK_FINISHED {
			finished[u.TaskID.Value] = true
		}
	}
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
