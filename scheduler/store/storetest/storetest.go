package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// Factory returns a fresh, empty store fenced by a leadership term, and a
// func that ends that term (later writes must fail with ErrNotLeader).
type Factory func(t *testing.T) (s store.Store, loseLeadership func())

// Run runs the contract suite.
func Run(t *testing.T, newStore Factory) {
	t.Run("Jobs", func(t *testing.T) { testJobs(t, newStore) })
	t.Run("Attempts", func(t *testing.T) { testAttempts(t, newStore) })
	t.Run("FrameworkID", func(t *testing.T) { testFrameworkID(t, newStore) })
	t.Run("Fencing", func(t *testing.T) { testFencing(t, newStore) })
	t.Run("Watch", func(t *testing.T) { testWatch(t, newStore) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func sampleJob(id string) *job.Job {
	return &job.Job{ID: id, Submitted: time.Unix(1700000000, 0).UTC(), Spec: job.Spec{Name: "etl", Tasks: []job.TaskSpec{
		{Name: "extract", Command: "echo", Instances: 10, Retries: 3, Resources: job.Resources{CPUs: 0.1, Mem: 32}},
	}}}
}

func testJobs(t *testing.T, newStore Factory) {
	s, _ := newStore(t)
	c := ctx(t)
	if _, err := s.GetJob(c, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetJob missing = %v, want ErrNotFound", err)
	}
	j := sampleJob("etl-1")
	if err := s.CreateJob(c, j); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJob(c, j); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateJob twice = %v, want ErrExists", err)
	}
	got, err := s.GetJob(c, "etl-1")
	if err != nil || got.Spec.Tasks[0].Instances != 10 || !got.Submitted.Equal(j.Submitted) {
		t.Fatalf("GetJob = %+v, %v", got, err)
	}
	got.KillRequested = true
	if err := s.UpdateJob(c, got); err != nil {
		t.Fatal(err)
	}
	if g2, _ := s.GetJob(c, "etl-1"); !g2.KillRequested {
		t.Fatal("UpdateJob not applied")
	}
	if err := s.UpdateJob(c, sampleJob("other")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateJob missing = %v, want ErrNotFound", err)
	}
	if err := s.CreateJob(c, sampleJob("etl-0")); err != nil {
		t.Fatal(err)
	}
	l, err := s.ListJobs(c)
	if err != nil || len(l) != 2 || l[0].ID != "etl-0" || l[1].ID != "etl-1" {
		t.Fatalf("ListJobs = %v, %v", l, err)
	}
}

func testAttempts(t *testing.T, newStore Factory) {
	s, _ := newStore(t)
	c := ctx(t)
	var as []job.Attempt
	for i := 0; i < 300; i++ { // more than one transaction's worth
		as = append(as, job.Attempt{Job: "j1", Task: "t", Index: i, State: job.AttemptLaunching, Created: time.Unix(1700000000, 0).UTC()})
	}
	as = append(as, job.Attempt{Job: "j2", Task: "t", Index: 0, State: job.AttemptLaunching})
	if err := s.PutAttempts(c, as); err != nil {
		t.Fatal(err)
	}
	code := 3
	upd := job.Attempt{Job: "j1", Task: "t", Index: 7, State: job.AttemptFailed, ExitCode: &code, AgentID: "a1", Hostname: "h1", Message: "exit 3"}
	again := job.Attempt{Job: "j1", Task: "t", Index: 7, Attempt: 1, State: job.AttemptRunning}
	if err := s.PutAttempts(c, []job.Attempt{upd, again}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Attempts(c, "j1")
	if err != nil || len(got) != 301 {
		t.Fatalf("Attempts = %d, %v; want 301", len(got), err)
	}
	inst, err := s.InstanceAttempts(c, "j1", "t", 7)
	if err != nil || len(inst) != 2 || inst[0].State != job.AttemptFailed || *inst[0].ExitCode != 3 || inst[1].Attempt != 1 {
		t.Fatalf("InstanceAttempts = %+v, %v", inst, err)
	}
	// Index 70 must not leak into index 7's prefix.
	if inst, _ := s.InstanceAttempts(c, "j1", "t", 70); len(inst) != 1 {
		t.Fatalf("InstanceAttempts(70) = %d attempts", len(inst))
	}
	if got, _ := s.Attempts(c, "j2"); len(got) != 1 {
		t.Fatalf("Attempts(j2) = %d, want 1", len(got))
	}
}

func testFrameworkID(t *testing.T, newStore Factory) {
	s, _ := newStore(t)
	c := ctx(t)
	if id, err := s.FrameworkID(c); err != nil || id != "" {
		t.Fatalf("FrameworkID empty = %q, %v", id, err)
	}
	if err := s.SetFrameworkID(c, "m-0001"); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.FrameworkID(c); id != "m-0001" {
		t.Fatalf("FrameworkID = %q", id)
	}
}

func testFencing(t *testing.T, newStore Factory) {
	s, lose := newStore(t)
	c := ctx(t)
	if err := s.CreateJob(c, sampleJob("a")); err != nil {
		t.Fatal(err)
	}
	lose()
	checks := map[string]error{
		"CreateJob":      s.CreateJob(c, sampleJob("b")),
		"UpdateJob":      s.UpdateJob(c, sampleJob("a")),
		"PutAttempts":    s.PutAttempts(c, []job.Attempt{{Job: "a", Task: "extract"}}),
		"SetFrameworkID": s.SetFrameworkID(c, "x"),
	}
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotLeader) {
			t.Errorf("%s after losing leadership = %v, want ErrNotLeader", name, err)
		}
	}
	if _, err := s.GetJob(c, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("fenced CreateJob landed: %v", err)
	}
	if as, _ := s.Attempts(c, "a"); len(as) != 0 {
		t.Errorf("fenced PutAttempts landed: %v", as)
	}
}

func testWatch(t *testing.T, newStore Factory) {
	s, _ := newStore(t)
	c := ctx(t)
	wctx, cancel := context.WithCancel(c)
	defer cancel()
	ch := s.Watch(wctx, "w1")
	other := s.Watch(wctx, "")
	// etcd watches start asynchronously: write until the first signal.
	deadline := time.After(10 * time.Second)
	if err := s.CreateJob(c, sampleJob("w1")); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if err := s.PutAttempts(c, []job.Attempt{{Job: "w1", Task: "extract", Index: i}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			select {
			case <-other:
			case <-deadline:
				t.Fatal("watch of every job not signalled")
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal(fmt.Errorf("watch not signalled"))
		}
	}
}
