package engine

import (
	"fmt"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// trackingFit is FirstFit that records the Tracker calls and marks every
// task of job "never" unschedulable forever.
type trackingFit struct {
	FirstFit
	calls []string
}

func (m *trackingFit) Started(j, t, h string) {
	m.calls = append(m.calls, fmt.Sprintf("start %s/%s@%s", j, t, h))
}
func (m *trackingFit) Stopped(j, t, h string) {
	m.calls = append(m.calls, fmt.Sprintf("stop %s/%s@%s", j, t, h))
}
func (m *trackingFit) JobDone(j string) { m.calls = append(m.calls, "done "+j) }
func (m *trackingFit) Forever(j, _ string) bool {
	return j == "never"
}

func TestRequeueIsNotAFailure(t *testing.T) {
	for _, st := range []mesos.TaskState{mesos.TASK_KILLED, mesos.TASK_FAILED} {
		m := &trackingFit{}
		e := New(m)
		j := &job.Job{ID: "j", Spec: job.Spec{Name: "j", Priority: 7, Tasks: []job.TaskSpec{{Name: "t", Command: "x", Instances: 1, Retries: 0, Resources: res(1, 1), Constraints: [][]string{{"zone", "IS", "a"}}}}}}
		e.AddJob(j)
		ds := e.Pending()
		if len(ds) != 1 || ds[0].Priority != 7 || ds[0].Constraints[0][2] != "a" {
			t.Fatalf("demands = %+v", ds)
		}
		ls := e.Plan([]Offer{offer("a", 1, 1)})
		if len(ls) != 1 {
			t.Fatalf("plan = %v", ls)
		}
		id := ls[0].Attempt.TaskID()
		e.Commit(ls[0].Attempt)
		run := e.ActiveInstances()
		if len(run) != 1 || run[0].Hostname != "host-a" || run[0].Requeuing {
			t.Fatalf("running = %+v", run)
		}
		if got := e.Requeue(map[string]string{id: "moved: constraint zone IS a no longer satisfied", "gone.t.0.0": "x"}); len(got) != 1 || got[id] != "agent-a" {
			t.Fatalf("requeue = %v", got)
		}
		if !e.ActiveInstances()[0].Requeuing {
			t.Fatal("not marked requeuing")
		}
		o, more := apply(t, e, id, st)
		if o.Attempt.State != job.AttemptLost || o.Attempt.Reason != "moved: constraint zone IS a no longer satisfied" || !more {
			t.Fatalf("%s: attempt = %+v more=%v", st, o.Attempt, more)
		}
		// Retries 0, yet the instance is pending again, not failed.
		if n := e.PendingCount(); n != 1 {
			t.Fatalf("%s: pending = %d", st, n)
		}
		if want := "stop j/t@host-a"; len(m.calls) != 1 || m.calls[0] != want {
			t.Fatalf("tracker calls = %q", m.calls)
		}
	}
}

func TestHasPlaceableSkipsForever(t *testing.T) {
	m := &trackingFit{}
	e := New(m)
	e.AddJob(&job.Job{ID: "never", Spec: job.Spec{Name: "never", Tasks: []job.TaskSpec{{Name: "t", Command: "x", Instances: 2, Resources: res(1, 1)}}}})
	if !e.HasPending() || e.HasPlaceable() {
		t.Fatalf("pending %v placeable %v", e.HasPending(), e.HasPlaceable())
	}
	e.AddJob(&job.Job{ID: "ok", Spec: job.Spec{Name: "ok", Tasks: []job.TaskSpec{{Name: "t", Command: "x", Instances: 1, Resources: res(1, 1)}}}})
	if !e.HasPlaceable() {
		t.Fatal("placeable work not seen")
	}
	ls := e.Plan([]Offer{offer("a", 0.5, 1)})
	if len(ls) != 0 {
		t.Fatalf("plan = %v", ls)
	}
	e.Kill("ok")
	if len(m.calls) != 1 || m.calls[0] != "done ok" {
		t.Fatalf("tracker calls = %q", m.calls)
	}
}
