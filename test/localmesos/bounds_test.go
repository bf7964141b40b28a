package localmesos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	mcalls "github.com/mesos/mesos-go/api/v1/lib/master/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/master"
	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// The master keeps the newest completed tasks of a framework and the newest
// completed frameworks, bounded as --max_completed_tasks_per_framework and
// --max_completed_frameworks bound a Mesos master's; the task metrics still
// count every task, and a framework dropped from the bounded list still
// cannot re-subscribe.
func TestCompletedTasksAndFrameworksBounded(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 1, Simulated: true, MaxCompletedTasksPerFramework: 5, MaxCompletedFrameworks: 2})
	f := startFramework(t, c, protobufCodec, mesos.FrameworkInfo{})
	i := 0
	o := f.awaitOffers(&i)[0]
	var tasks []mesos.TaskInfo
	for n := 1; n <= 12; n++ {
		tasks = append(tasks, simTask(fmt.Sprintf("t%02d", n), o, "0s", "0"))
	}
	f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
	for n := 1; n <= 12; n++ {
		f.await(new(int), "finished", mesostest.IsUpdate(fmt.Sprintf("t%02d", n), mesos.TASK_FINISHED))
	}
	var completed []string
	waitFor(t, "the 5 newest tasks completed", func() bool {
		completed = completed[:0]
		for _, task := range getState(t, c).GetTasks.CompletedTasks {
			completed = append(completed, task.TaskID.Value)
		}
		return fmt.Sprint(completed) == "[t08 t09 t10 t11 t12]"
	})
	if got := metric(t, c, "master/tasks_finished"); got != 12 {
		t.Errorf("master/tasks_finished %v, want 12 (every task, not only those kept)", got)
	}

	var removed []string
	for n := 0; n < 3; n++ {
		s := rawSubscribe(t, c, mesos.FrameworkInfo{FailoverTimeout: ptrF(60)})
		if code, _, _ := s.post(t, c, &scheduler.Call{Type: scheduler.Call_TEARDOWN}); code != 202 {
			t.Fatalf("TEARDOWN: %d", code)
		}
		s.ended(t)
		removed = append(removed, s.fwID)
	}
	var kept []string
	for _, fw := range getState(t, c).GetFrameworks.CompletedFrameworks {
		kept = append(kept, fw.FrameworkInfo.ID.Value)
	}
	if fmt.Sprint(kept) != fmt.Sprint(removed[1:]) {
		t.Errorf("completed frameworks %v, want the 2 newest %v", kept, removed[1:])
	}
	s := rawSubscribe(t, c, mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: removed[0]}})
	if e := s.next(t, scheduler.Event_ERROR); e.Error.Message != "Framework has been removed" {
		t.Errorf("re-subscribe of a framework no longer listed: %q", e.Error.Message)
	}
}

func getState(t testing.TB, c *Cluster) *masterGetState {
	t.Helper()
	code, body, _ := rawPost(t, c.MasterURL()+"/api/v1", "application/json", "application/json", "", []byte(`{"type":"GET_STATE"}`))
	var r struct {
		GetState masterGetState `json:"get_state"`
	}
	if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
		t.Fatalf("GET_STATE: %d %v", code, err)
	}
	return &r.GetState
}

type masterGetState struct {
	GetTasks struct {
		CompletedTasks []mesos.Task `json:"completed_tasks"`
	} `json:"get_tasks"`
	GetFrameworks struct {
		CompletedFrameworks []struct {
			FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
		} `json:"completed_frameworks"`
	} `json:"get_frameworks"`
}

func metric(t testing.TB, c *Cluster, name string) float64 {
	t.Helper()
	resp, err := http.Get(c.MasterURL() + "/metrics/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]float64
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// The defaults are Mesos 1.12's.
func TestCompletedBoundsDefaults(t *testing.T) {
	if master.DefaultMaxCompletedTasksPerFramework != 1000 || master.DefaultMaxCompletedFrameworks != 50 {
		t.Errorf("defaults %d, %d; Mesos 1.12 has 1000 and 50", master.DefaultMaxCompletedTasksPerFramework, master.DefaultMaxCompletedFrameworks)
	}
}

// A framework that gives every task its own custom executor (as Gleaner
// does) leaves no executor behind on the master once the simulated tasks
// ended: each executor exits, and the master forgets it and tells the
// framework (FAILURE with the executor ID).
func TestExecutorPerTaskNotKept(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 1, Simulated: true})
	f := startFramework(t, c, protobufCodec, mesos.FrameworkInfo{})
	i := 0
	o := f.awaitOffers(&i)[0]
	var tasks []mesos.TaskInfo
	for n := 1; n <= 5; n++ {
		ti := simTask(fmt.Sprintf("e%d", n), o, "0s", "0")
		ti.Command = nil
		ti.Executor = &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: ti.TaskID.Value},
			Command: &mesos.CommandInfo{Value: ptrS("gleaner executor")}}
		tasks = append(tasks, ti)
	}
	f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
	for n := 1; n <= 5; n++ {
		id := fmt.Sprintf("e%d", n)
		f.await(new(int), "finished", mesostest.IsUpdate(id, mesos.TASK_FINISHED))
		f.await(new(int), "FAILURE of executor "+id, func(e *scheduler.Event) bool {
			return e.Type == scheduler.Event_FAILURE && e.Failure.GetExecutorID().GetValue() == id
		})
	}
	waitFor(t, "no executor kept", func() bool {
		return len(get(t, operator(c, protobufCodec), mcalls.GetExecutors()).GetExecutors.Executors) == 0
	})
}
