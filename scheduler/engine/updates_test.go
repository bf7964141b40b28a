package engine

import (
	"maps"
	"slices"
	"testing"
	"time"

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

// TestDecideUpdatesOneRecordPerTask: a batch that holds several updates of
// a task stores one record for it, the one the updates lead to, and that
// record is what storing each update in a batch of its own would have
// ended with: the terminal record carries the start time of the RUNNING
// update before it (retry tells a task that never started by its missing
// start time), the same state, end and retry verdict.
func TestDecideUpdatesOneRecordPerTask(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	zero, two := 0, 2
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	cases := []struct {
		name    string
		updates []Status
		records int               // records the one batch stores
		started map[string]bool   // task id → its stored record has a start time
		kill    map[string]string // tasks to kill
	}{
		{name: "running then finished", records: 1, started: map[string]bool{"j.t.0.0": true},
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_RUNNING, Time: at(1)}, {TaskID: "j.t.0.0", State: mesos.TASK_FINISHED, ExitCode: &zero, Time: at(2)}}},
		{name: "finished alone (never reported running)", records: 1, started: map[string]bool{"j.t.0.0": false},
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_FINISHED, ExitCode: &zero, Time: at(2)}}},
		{name: "running alone", records: 1, started: map[string]bool{"j.t.0.0": true},
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_RUNNING, Time: at(1)}}},
		{name: "running then failed without an exit code: a failure, not a launch failure", records: 1, started: map[string]bool{"j.t.0.0": true},
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_RUNNING, Time: at(1)}, {TaskID: "j.t.0.0", State: mesos.TASK_FAILED, Reason: "REASON_EXECUTOR_TERMINATED", Time: at(2)}}},
		{name: "starting, running, finished", records: 1, started: map[string]bool{"j.t.0.0": true},
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_STARTING, Time: at(1)}, {TaskID: "j.t.0.0", State: mesos.TASK_RUNNING, Time: at(2)}, {TaskID: "j.t.0.0", State: mesos.TASK_FINISHED, ExitCode: &zero, Time: at(3)}}},
		{name: "two tasks interleaved", records: 2, started: map[string]bool{"j.t.0.0": true, "j.t.1.0": true},
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_RUNNING, Time: at(1)}, {TaskID: "j.t.1.0", State: mesos.TASK_RUNNING, Time: at(2)},
				{TaskID: "j.t.0.0", State: mesos.TASK_FINISHED, ExitCode: &zero, Time: at(3)}, {TaskID: "j.t.1.0", State: mesos.TASK_FAILED, ExitCode: &two, Time: at(4)}}},
		{name: "a RUNNING resent after a reconnect keeps the first start time", records: 1, started: map[string]bool{"j.t.0.0": true},
			updates: []Status{{TaskID: "j.t.0.0", State: mesos.TASK_RUNNING, Time: at(1)}, {TaskID: "j.t.0.0", State: mesos.TASK_RUNNING, Time: at(5)}, {TaskID: "j.t.0.0", State: mesos.TASK_FINISHED, ExitCode: &zero, Time: at(6)}}},
		{name: "updates of unknown tasks store nothing", records: 0, kill: map[string]string{"other.t.0.0": "a9"},
			updates: []Status{{TaskID: "other.t.0.0", State: mesos.TASK_RUNNING, AgentID: "a9", Time: at(1)}, {TaskID: "gone.t.0.0", State: mesos.TASK_FINISHED, AgentID: "a9", Time: at(2)}}},
	}
	launched := func() *Engine {
		j := arrayOf("j", 2, 1)
		j.Spec.Tasks[0].Retries = 1
		e := New(nil)
		e.AddJob(j)
		if d := e.Cycle([]Offer{offer("a", 4, 100)}, testCycle); d.Count() != 2 {
			t.Fatalf("launched %d, want 2", d.Count())
		}
		return e
	}
	type record struct {
		state          job.AttemptState
		mesos, verdict string
		started, ended time.Time
		exit           int
		hasExit        bool
	}
	summary := func(a job.Attempt) record {
		r := record{state: a.State, mesos: a.MesosState, verdict: a.Verdict, started: a.Started, ended: a.Ended, hasExit: a.ExitCode != nil}
		if a.ExitCode != nil {
			r.exit = *a.ExitCode
		}
		return r
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			together := launched()
			u := together.DecideUpdates(tc.updates)
			together.ApplyUpdates(&u)
			if len(u.Store) != tc.records || !maps.Equal(u.Kill, tc.kill) {
				t.Fatalf("one batch stores %d records and kills %v; want %d and %v", len(u.Store), u.Kill, tc.records, tc.kill)
			}
			got := map[string]record{}
			for _, a := range u.Store {
				got[a.TaskID()] = summary(a)
				if want, ok := tc.started[a.TaskID()]; !ok || a.Started.IsZero() == want {
					t.Fatalf("%s: stored start time %v, want one: %v", a.TaskID(), a.Started, want)
				}
			}
			apart := launched()
			want := map[string]record{}
			for _, s := range tc.updates {
				u := apart.DecideUpdates([]Status{s})
				apart.ApplyUpdates(&u)
				for _, a := range u.Store {
					want[a.TaskID()] = summary(a)
				}
			}
			if !maps.Equal(got, want) {
				t.Fatalf("one batch stored\n%+v\nupdate by update ends with\n%+v", got, want)
			}
			if together.PendingCount() != apart.PendingCount() {
				t.Fatalf("pending %d after one batch, %d update by update", together.PendingCount(), apart.PendingCount())
			}
		})
	}
}
