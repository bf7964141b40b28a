package engine

import (
	"maps"
	"slices"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// TestDecideUpdates: one call decides a batch's records to store (the last
// per task), its kills and the work-queue claims to release; ApplyUpdates
// commits the records with the retry decisions made then and says whether
// to revive.
func TestDecideUpdates(t *testing.T) {
	one, two := 1, 2
	cases := []struct {
		name      string
		retries   int
		workQueue bool
		updates   []Status
		store     []string // task id=state verdict
		kill      map[string]string
		release   []string
		revive    bool
	}{
		{
			name:    "running then finished: one record, done",
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_RUNNING}, {TaskID: "j.t.0.0", State: mesos.TASK_FINISHED}},
			store:   []string{"j.t.0.0=succeeded done"},
			revive:  false, // instance 1 still runs: nothing new to place
		},
		{
			name:    "a failure with a retry left: again, revive",
			retries: 1,
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_FAILED, ExitCode: &one}},
			store:   []string{"j.t.0.0=failed again"},
			revive:  true,
		},
		{
			name:    "a failure without a retry: fail",
			updates: []Status{{TaskID: "j.t.1.0", State: mesos.TASK_FAILED, ExitCode: &two}},
			store:   []string{"j.t.1.0=failed fail"},
			revive:  true, // dependents may be decided now
		},
		{
			name:    "a running task the engine does not hold is killed",
			updates: []Status{{TaskID: "other.t.0.0", State: mesos.TASK_RUNNING, AgentID: "a9"}},
			kill:    map[string]string{"other.t.0.0": "a9"},
		},
		{
			name:      "an ended work-queue instance's claims are released",
			workQueue: true,
			updates:   []Status{{TaskID: "j.t.0.0", State: mesos.TASK_RUNNING}, {TaskID: "j.t.1.0", State: mesos.TASK_FINISHED}},
			store:     []string{"j.t.0.0=running ", "j.t.1.0=succeeded done"},
			release:   []string{"j.t.1.0"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := arrayOf("j", 2, 1)
			j.Spec.Tasks[0].Retries = tc.retries
			if tc.workQueue {
				j.Spec.Tasks[0].WorkQueue = &job.WorkQueue{Items: []string{"x", "y", "z"}}
			}
			e := New(nil)
			e.AddJob(j)
			if d := e.Cycle([]Offer{offer("a", 4, 100)}, testCycle); d.Count() != 2 {
				t.Fatalf("launched %d, want 2", d.Count())
			}
			u := e.DecideUpdates(tc.updates)
			var store, release []string
			for _, a := range u.Store {
				store = append(store, a.TaskID()+"="+string(a.State)+" "+a.Verdict)
			}
			for _, a := range u.Release {
				release = append(release, a.TaskID())
			}
			if !slices.Equal(store, tc.store) || !maps.Equal(u.Kill, tc.kill) || !slices.Equal(release, tc.release) || len(u.Outcomes) != len(tc.updates) {
				t.Fatalf("store %q kill %v release %v (%d outcomes); want %q %v %v", store, u.Kill, release, len(u.Outcomes), tc.store, tc.kill, tc.release)
			}
			if revive := e.ApplyUpdates(&u); revive != tc.revive {
				t.Fatalf("revive = %v, want %v", revive, tc.revive)
			}
			for _, a := range u.Store {
				if _, active := e.ActiveAttempt(a.TaskID()); active == a.State.Terminal() {
					t.Fatalf("%s (%s): active after ApplyUpdates = %v", a.TaskID(), a.State, active)
				}
			}
		})
	}
}

// TestApplyUpdatesUsesObservedDecision: the retry decision is made once,
// when the update is observed; committing the stored record applies that
// decision (the history grows by one failure, the instance is requeued
// once).
func TestApplyUpdatesUsesObservedDecision(t *testing.T) {
	j := arrayOf("j", 1, 1)
	j.Spec.Tasks[0].Retries = 2
	e := New(nil)
	e.AddJob(j)
	e.Cycle([]Offer{offer("a", 1, 100)}, testCycle)
	code := 1
	u := e.DecideUpdates([]Status{{TaskID: "j.t.0.0", State: mesos.TASK_FAILED, ExitCode: &code}})
	if len(u.decided) != 1 || u.decided[0] == nil {
		t.Fatalf("no retry decision carried with the record: %+v", u.decided)
	}
	if !e.ApplyUpdates(&u) {
		t.Fatal("a retry left: want revive")
	}
	if n := e.PendingCount(); n != 1 {
		t.Fatalf("pending = %d, want the instance requeued once", n)
	}
	if len(e.Plan(big())) != 1 {
		t.Fatal("the retry was not launched")
	}
}
