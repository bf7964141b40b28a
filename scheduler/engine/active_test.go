package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// An active attempt's record comes back from the engine as it was loaded
// or committed, whether held compact (activeAttempt) or whole.
func TestActiveRecordKeepsEveryField(t *testing.T) {
	created, started := time.Unix(100, 0), time.Unix(110, 0)
	code := 3
	stored := []job.Attempt{
		// compact, with a reason and message kept in instExtra
		{Job: "etl-1", Task: "extract", Index: 0, Attempt: 0, State: job.AttemptRunning, AgentID: "ag", Hostname: "h",
			MesosState: "TASK_RUNNING", Reason: "REASON_RECONCILIATION", Message: "reconciled", Created: created, Started: started},
		// compact, launching
		{Job: "etl-1", Task: "extract", Index: 1, Attempt: 2, State: job.AttemptLaunching, AgentID: "ag", Hostname: "h", Created: created},
		// held whole: fields a running attempt does not usually have
		{Job: "etl-1", Task: "extract", Index: 2, Attempt: 0, State: job.AttemptRunning, AgentID: "ag", MesosState: "TASK_RUNNING",
			ExitCode: &code, Signal: 9, Created: created, Started: started},
		// held whole: a Mesos state name the enum does not know
		{Job: "etl-1", Task: "extract", Index: 3, Attempt: 0, State: job.AttemptRunning, MesosState: "TASK_SOMETHING", Created: created},
	}
	e := New(nil)
	e.Load([]*job.Job{etl(1)}, map[string][]job.Attempt{"etl-1": stored})
	for _, want := range stored {
		got, ok := e.ActiveAttempt(want.TaskID())
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("ActiveAttempt(%s) = %+v, %v; want %+v", want.TaskID(), got, ok, want)
		}
		if !e.IsActive(want.TaskID()) {
			t.Errorf("IsActive(%s) = false for an active attempt", want.TaskID())
		}
	}
	if gone := job.TaskID("etl-1", "extract", 0, 1); e.IsActive(gone) {
		t.Errorf("IsActive(%s) = true for an attempt never launched", gone)
	}
	in := e.active[stored[0].TaskID()]
	if in.run == nil || in.last != nil {
		t.Errorf("index 0 not held compact: run %v, last %v", in.run, in.last)
	}
	if in := e.active[stored[2].TaskID()]; in.run != nil || in.last == nil {
		t.Errorf("index 2 not held whole: run %v, last %v", in.run, in.last)
	}

	// An update builds on the whole record; committing a record without a
	// reason or message drops them.
	o := e.Observe(Status{TaskID: stored[1].TaskID(), State: mesos.TASK_RUNNING, Time: started})
	want := stored[1]
	want.State, want.MesosState, want.Started = job.AttemptRunning, "TASK_RUNNING", started
	if o.Attempt == nil || !reflect.DeepEqual(*o.Attempt, want) {
		t.Fatalf("Observe = %+v, want %+v", o.Attempt, want)
	}
	e.Commit(*o.Attempt)
	if got, _ := e.ActiveAttempt(want.TaskID()); !reflect.DeepEqual(got, want) {
		t.Errorf("after Commit, ActiveAttempt = %+v, want %+v", got, want)
	}
	plain := stored[0]
	plain.Reason, plain.Message = "", ""
	e.Commit(plain)
	if got, _ := e.ActiveAttempt(plain.TaskID()); !reflect.DeepEqual(got, plain) {
		t.Errorf("after Commit without message, ActiveAttempt = %+v, want %+v", got, plain)
	}
	if in.extra != nil {
		t.Errorf("extra kept after its fields were cleared: %+v", in.extra)
	}
}

// The attempts whose queue claims the framework keeps alive are the
// active ones of work-queue tasks only.
func TestActiveOnWorkQueues(t *testing.T) {
	j := etl(0)
	j.Spec.Tasks[1].Depends = nil
	j.Spec.Tasks[1].WorkQueue = &job.WorkQueue{Items: []string{"a", "b"}}
	created := time.Unix(100, 0)
	stored := []job.Attempt{
		{Job: j.ID, Task: "extract", Index: 0, State: job.AttemptRunning, AgentID: "ag", Created: created},
		{Job: j.ID, Task: "load", Index: 0, State: job.AttemptRunning, AgentID: "ag", Created: created},
	}
	e := New(nil)
	e.Load([]*job.Job{j}, map[string][]job.Attempt{j.ID: stored})
	if got, want := e.ActiveOnWorkQueues(), []string{stored[1].TaskID()}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ActiveOnWorkQueues() = %v, want %v", got, want)
	}
}
