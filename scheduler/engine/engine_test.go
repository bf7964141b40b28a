package engine

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func res(c, m float64) job.Resources { return job.Resources{CPUs: c, Mem: m} }

func offer(id string, c, m float64) Offer {
	return Offer{ID: id, AgentID: "agent-" + id, Hostname: "host-" + id, Available: res(c, m)}
}

func etl(retries int) *job.Job {
	return &job.Job{ID: "etl-1", Submitted: time.Unix(1, 0), Spec: job.Spec{Name: "etl", Tasks: []job.TaskSpec{
		{Name: "extract", Command: "x", Instances: 10, Retries: retries, Resources: res(1, 10)},
		{Name: "load", Command: "y", Instances: 1, Retries: retries, Resources: res(1, 10), Depends: []string{"extract"}},
	}}}
}

// apply observes and commits a status as the framework would after storing.
func apply(t *testing.T, e *Engine, taskID string, st mesos.TaskState) (Outcome, bool) {
	t.Helper()
	o := e.Observe(Status{TaskID: taskID, State: st})
	more := false
	if o.Attempt != nil {
		more = e.Commit(*o.Attempt)
	}
	return o, more
}

func TestFirstFit(t *testing.T) {
	cases := []struct {
		name    string
		offers  []Offer
		demands []Demand
		want    []Placement
	}{
		{"one offer fits three", []Offer{offer("a", 3.5, 100)}, []Demand{{Resources: res(1, 10), Count: 5}}, []Placement{{0, 0, 3}}},
		{"spill to second offer", []Offer{offer("a", 2, 100), offer("b", 2, 100)}, []Demand{{Resources: res(1, 10), Count: 3}}, []Placement{{0, 0, 2}, {1, 0, 1}}},
		{"memory bound", []Offer{offer("a", 8, 25)}, []Demand{{Resources: res(1, 10), Count: 5}}, []Placement{{0, 0, 2}}},
		{"second demand uses leftovers", []Offer{offer("a", 3, 100)}, []Demand{{Resources: res(2, 10), Count: 1}, {Resources: res(1, 10), Count: 4}}, []Placement{{0, 0, 1}, {0, 1, 1}}},
		{"nothing fits", []Offer{offer("a", 0.5, 100)}, []Demand{{Resources: res(1, 10), Count: 1}}, nil},
		{"float rounding", []Offer{offer("a", 0.3, 100)}, []Demand{{Resources: res(0.1, 1), Count: 5}}, []Placement{{0, 0, 3}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FirstFit{}.Match(c.offers, c.demands)
			if len(got) != len(c.want) {
				t.Fatalf("Match = %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("Match = %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestDependentTaskWaits(t *testing.T) {
	e := New(nil)
	e.AddJob(etl(0))
	ls := e.Plan([]Offer{offer("a", 4, 100)})
	if len(ls) != 4 || ls[0].Attempt.TaskID() != "etl-1.extract.0.0" || ls[3].Attempt.Index != 3 || ls[0].Attempt.State != job.AttemptLaunching || ls[0].Attempt.Hostname != "host-a" {
		t.Fatalf("Plan = %+v", ls)
	}
	ls = append(ls, e.Plan([]Offer{offer("b", 100, 1000)})...)
	if len(ls) != 10 || e.HasPending() {
		t.Fatalf("after second offer: %d launches, pending %v", len(ls), e.HasPending())
	}
	for i, l := range ls {
		apply(t, e, l.Attempt.TaskID(), mesos.TASK_RUNNING)
		_, more := apply(t, e, l.Attempt.TaskID(), mesos.TASK_FINISHED)
		if more != (i == 9) {
			t.Fatalf("instance %d finished: moreWork=%v", i, more)
		}
	}
	ls = e.Plan([]Offer{offer("a", 4, 100)})
	if len(ls) != 1 || ls[0].Attempt.TaskID() != "etl-1.load.0.0" {
		t.Fatalf("load not planned: %+v", ls)
	}
	apply(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FINISHED)
	if len(e.Jobs()) != 0 {
		t.Fatalf("finished job still held: %v", e.Jobs())
	}
}

func TestRetriesThenFail(t *testing.T) {
	e := New(nil)
	j := etl(2)
	j.Spec.Tasks[0].Instances = 1
	e.AddJob(j)
	for attempt := 0; attempt < 3; attempt++ {
		ls := e.Plan([]Offer{offer("a", 4, 100)})
		if len(ls) != 1 || ls[0].Attempt.Attempt != attempt {
			t.Fatalf("attempt %d: Plan = %+v", attempt, ls)
		}
		code := 3
		o := e.Observe(Status{TaskID: ls[0].Attempt.TaskID(), State: mesos.TASK_FAILED, ExitCode: &code, Message: "Command exited with status 3"})
		if o.Attempt == nil || o.Attempt.State != job.AttemptFailed || *o.Attempt.ExitCode != 3 || o.Attempt.Ended.IsZero() {
			t.Fatalf("Observe = %+v", o.Attempt)
		}
		e.Commit(*o.Attempt)
	}
	if e.HasPending() || len(e.Jobs()) != 0 {
		t.Fatalf("job should have failed and left: pending=%v jobs=%v", e.HasPending(), e.Jobs())
	}
}

func TestLostDoesNotConsumeRetry(t *testing.T) {
	e := New(nil)
	j := etl(0)
	j.Spec.Tasks[0].Instances = 1
	e.AddJob(j)
	for i, st := range []mesos.TaskState{mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_UNREACHABLE, mesos.TASK_GONE_BY_OPERATOR, mesos.TASK_UNKNOWN} {
		ls := e.Plan([]Offer{offer("a", 4, 100)})
		if len(ls) != 1 || ls[0].Attempt.Attempt != i {
			t.Fatalf("%s: Plan = %+v", st, ls)
		}
		if _, more := apply(t, e, ls[0].Attempt.TaskID(), st); !more {
			t.Fatalf("%s did not requeue", st)
		}
	}
	ls := e.Plan([]Offer{offer("a", 4, 100)})
	apply(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FINISHED)
	if e.PendingCount() != 1 { // load is now runnable
		t.Fatalf("PendingCount = %d, want 1", e.PendingCount())
	}
}

func TestForgetRequeues(t *testing.T) {
	e := New(nil)
	e.AddJob(etl(0))
	ls := e.Plan([]Offer{offer("a", 3, 100)})
	e.Forget(ls)
	if e.PendingCount() != 10 || len(e.Active()) != 0 {
		t.Fatalf("after Forget: pending %d active %d", e.PendingCount(), len(e.Active()))
	}
	ls2 := e.Plan([]Offer{offer("a", 3, 100)})
	for i := range ls2 {
		if ls2[i].Attempt.TaskID() != ls[i].Attempt.TaskID() {
			t.Fatalf("relaunch %s, want the same task id %s", ls2[i].Attempt.TaskID(), ls[i].Attempt.TaskID())
		}
	}
}

func TestObserveUnexpected(t *testing.T) {
	e := New(nil)
	e.AddJob(etl(0))
	if o := e.Observe(Status{TaskID: "etl-1.extract.0.5", State: mesos.TASK_RUNNING}); !o.Kill || o.Attempt != nil {
		t.Fatalf("unknown running task: %+v", o)
	}
	if o := e.Observe(Status{TaskID: "etl-1.extract.0.5", State: mesos.TASK_FINISHED}); o.Kill || o.Attempt != nil {
		t.Fatalf("unknown finished task: %+v", o)
	}
	ls := e.Plan([]Offer{offer("a", 1, 100)})
	apply(t, e, ls[0].Attempt.TaskID(), mesos.TASK_RUNNING)
	if o := e.Observe(Status{TaskID: ls[0].Attempt.TaskID(), State: mesos.TASK_RUNNING}); o.Attempt != nil {
		t.Fatalf("duplicate update changed the attempt: %+v", o)
	}
}

func TestKill(t *testing.T) {
	e := New(nil)
	e.AddJob(etl(3))
	ls := e.Plan([]Offer{offer("a", 2, 100)})
	kills := e.Kill("etl-1")
	if len(kills) != 2 || kills[ls[0].Attempt.TaskID()] != "agent-a" {
		t.Fatalf("Kill = %v", kills)
	}
	if e.HasPending() {
		t.Fatal("killed job still pending")
	}
	apply(t, e, ls[0].Attempt.TaskID(), mesos.TASK_KILLED)
	apply(t, e, ls[1].Attempt.TaskID(), mesos.TASK_KILLED)
	if len(e.Jobs()) != 0 {
		t.Fatal("killed job kept after its tasks ended")
	}
}

// A new leader rebuilds from stored attempts: finished instances stay
// finished, running ones are active, lost/failed ones are requeued, and
// nothing already launched is launched again.
func TestLoad(t *testing.T) {
	j := etl(1)
	at := func(idx, n int, s job.AttemptState) job.Attempt {
		return job.Attempt{Job: "etl-1", Task: "extract", Index: idx, Attempt: n, State: s, AgentID: "ag"}
	}
	stored := []job.Attempt{
		at(0, 0, job.AttemptSucceeded),
		at(1, 0, job.AttemptRunning),
		at(2, 0, job.AttemptLaunching),
		at(3, 0, job.AttemptLost),
		at(4, 0, job.AttemptFailed),
		at(5, 0, job.AttemptFailed), at(5, 1, job.AttemptFailed), // out of retries
		at(7, 0, job.AttemptSucceeded), // 6 was undone before storing
	}
	e := New(nil)
	e.Load([]*job.Job{j}, map[string][]job.Attempt{"etl-1": stored})
	act := e.Active()
	if len(act) != 2 || act["etl-1.extract.1.0"] != "ag" || act["etl-1.extract.2.0"] != "ag" {
		t.Fatalf("Active = %v", act)
	}
	// Task extract has a failed instance: the job is failing, so nothing
	// more is launched; it ends when the two active attempts end.
	if e.HasPending() {
		t.Fatal("failing job still launches")
	}
	apply(t, e, "etl-1.extract.1.0", mesos.TASK_FINISHED)
	apply(t, e, "etl-1.extract.2.0", mesos.TASK_FINISHED)
	if len(e.Jobs()) != 0 {
		t.Fatal("failed job kept")
	}

	// Without the exhausted instance the rebuilt job carries on.
	e = New(nil)
	e.Load([]*job.Job{etl(1)}, map[string][]job.Attempt{"etl-1": append(stored[:5:5], stored[7])})
	ls := e.Plan([]Offer{offer("a", 100, 1000)})
	got := map[string]bool{}
	for _, l := range ls {
		got[l.Attempt.TaskID()] = true
	}
	for _, want := range []string{"etl-1.extract.3.1", "etl-1.extract.4.1", "etl-1.extract.5.0", "etl-1.extract.6.0", "etl-1.extract.8.0", "etl-1.extract.9.0"} {
		if !got[want] {
			t.Errorf("after Load, Plan lacks %s (got %v)", want, got)
		}
	}
	if len(ls) != 6 {
		t.Errorf("after Load, Plan launched %d, want 6: %v", len(ls), got)
	}
}

func TestObserveAllBuildsOnEarlierUpdates(t *testing.T) {
	e := New(nil)
	e.AddJob(etl(0))
	ls := e.Plan([]Offer{offer("a", 2, 100)})
	id0, id1 := ls[0].Attempt.TaskID(), ls[1].Attempt.TaskID()
	t0 := time.Unix(100, 0)
	outs := e.ObserveAll([]Status{
		{TaskID: id0, State: mesos.TASK_RUNNING, Time: t0},
		{TaskID: id1, State: mesos.TASK_RUNNING, Time: t0},
		{TaskID: id0, State: mesos.TASK_FINISHED, Time: t0.Add(time.Second)},
		{TaskID: id0, State: mesos.TASK_RUNNING, Time: t0.Add(2 * time.Second)}, // stale duplicate
	})
	if outs[0].Attempt.State != job.AttemptRunning || outs[1].Attempt.State != job.AttemptRunning {
		t.Fatalf("running outcomes: %+v %+v", outs[0].Attempt, outs[1].Attempt)
	}
	fin := outs[2].Attempt
	if fin.State != job.AttemptSucceeded || !fin.Started.Equal(t0) || !fin.Ended.Equal(t0.Add(time.Second)) {
		t.Fatalf("finished outcome: %+v", fin)
	}
	// A task that finished is not alive: the running copy is stale, and
	// killing it would be a KILL for a finished task (issue 10 finding 7).
	if outs[3].Attempt != nil || outs[3].Kill {
		t.Fatalf("update after the end in the same batch: %+v", outs[3])
	}
	if len(e.Active()) != 2 {
		t.Fatal("ObserveAll changed the engine")
	}
	e.Commit(*fin)
	e.Commit(*outs[1].Attempt)
	if act := e.Active(); len(act) != 1 || act[id1] == "" {
		t.Fatalf("after commits: %v", act)
	}
}

// Attempts whose ACCEPT has not returned are not reconciled; loaded ones are.
func TestReconcilable(t *testing.T) {
	e := New(nil)
	e.AddJob(etl(0))
	ls := e.Plan([]Offer{offer("a", 2, 100)})
	if r := e.Reconcilable(); len(r) != 0 {
		t.Fatalf("in-flight launches reconcilable: %v", r)
	}
	e.MarkSent([]string{ls[0].Attempt.TaskID()})
	if r := e.Reconcilable(); len(r) != 1 || r[ls[0].Attempt.TaskID()] != "agent-a" {
		t.Fatalf("Reconcilable = %v", r)
	}
	e2 := New(nil)
	e2.Load([]*job.Job{etl(0)}, map[string][]job.Attempt{"etl-1": {ls[1].Attempt}})
	if r := e2.Reconcilable(); len(r) != 1 {
		t.Fatalf("loaded attempts not reconcilable: %v", r)
	}
}
