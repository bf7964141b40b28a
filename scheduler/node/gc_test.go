package node

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// gcFixture stores finished jobs of every kind, one running job, and a
// schedule with three finished runs, on a node leading with st.
func gcFixture(t *testing.T, now time.Time) (*Node, *store.Memory) {
	t.Helper()
	ctx := context.Background()
	st := store.NewMemory()
	one := func(name string) job.Spec {
		return job.Spec{Name: name, Tasks: []job.TaskSpec{{Name: "a", Command: "true", Instances: 1, Resources: job.Resources{CPUs: 0.1, Mem: 32}}}}
	}
	ended := func(id string, state job.AttemptState, ago time.Duration) job.Attempt {
		return job.Attempt{Job: id, Task: "a", State: state, Created: now.Add(-ago - time.Minute), Ended: now.Add(-ago)}
	}
	keepOne, keepNone := 1, 0
	sched := &job.Schedule{Cron: "@hourly", SuccessfulRunsHistoryLimit: &keepOne, FailedRunsHistoryLimit: &keepNone}
	jobs := []struct {
		j *job.Job
		a []job.Attempt
	}{
		{&job.Job{ID: "old", Spec: one("old"), Submitted: now.Add(-3 * time.Hour)}, []job.Attempt{ended("old", job.AttemptSucceeded, 2*time.Hour)}},
		{&job.Job{ID: "failed-old", Spec: one("failed-old"), Submitted: now.Add(-3 * time.Hour)}, []job.Attempt{ended("failed-old", job.AttemptFailed, 2*time.Hour)}},
		{&job.Job{ID: "young", Spec: one("young"), Submitted: now.Add(-20 * time.Minute)}, []job.Attempt{ended("young", job.AttemptSucceeded, 10*time.Minute)}},
		{&job.Job{ID: "own-ttl", Spec: func() job.Spec { s := one("own-ttl"); s.TTLAfterFinished = job.Duration(time.Minute); return s }(), Submitted: now.Add(-10 * time.Minute)},
			[]job.Attempt{ended("own-ttl", job.AttemptSucceeded, 5*time.Minute)}},
		{&job.Job{ID: "running", Spec: one("running"), Submitted: now.Add(-5 * time.Hour)},
			[]job.Attempt{{Job: "running", Task: "a", State: job.AttemptRunning, Created: now.Add(-5 * time.Hour)}}},
		{&job.Job{ID: "tick", Spec: job.Spec{Name: "tick", Schedule: sched, Tasks: one("tick").Tasks}, Submitted: now.Add(-5 * time.Hour)}, nil},
	}
	for i := 3; i >= 1; i-- {
		at := now.Add(-time.Duration(i) * time.Hour).Truncate(time.Hour)
		id := cron.RunID("tick", at)
		jobs = append(jobs, struct {
			j *job.Job
			a []job.Attempt
		}{&job.Job{ID: id, Parent: "tick", Spec: one("tick"), Submitted: at}, []job.Attempt{ended(id, job.AttemptSucceeded, time.Duration(i)*time.Hour-time.Minute)}})
	}
	eng := engine.New(matcher.New(matcher.Config{}))
	for _, x := range jobs {
		if err := st.CreateJob(ctx, x.j); err != nil {
			t.Fatal(err)
		}
		if err := st.PutAttempts(ctx, x.a); err != nil {
			t.Fatal(err)
		}
		if x.j.ID == "running" {
			eng.Load([]*job.Job{x.j}, map[string][]job.Attempt{x.j.ID: x.a})
		}
	}
	n := &Node{cfg: Config{FinishedJobTTL: time.Hour}, log: slog.New(slog.DiscardHandler)}
	n.cur = &term{store: st, engine: eng}
	return n, st
}

func jobIDs(t *testing.T, st store.Store) []string {
	t.Helper()
	js, err := st.ListJobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range js {
		ids = append(ids, j.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestGCDeletesFinishedJobsPastTheirTTLAndRunsBeyondTheHistoryLimit(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC)
	n, st := gcFixture(t, now)
	newest := cron.RunID("tick", now.Add(-time.Hour).Truncate(time.Hour))
	finished := map[string]finishedJob{}
	if err := n.gcOnce(context.Background(), now, finished); err != nil {
		t.Fatal(err)
	}
	want := []string{"running", "tick", newest, "young"}
	slices.Sort(want)
	if got := jobIDs(t, st); !slices.Equal(got, want) {
		t.Fatalf("jobs after gc = %v, want %v", got, want)
	}
	if as, _ := st.Attempts(context.Background(), "old"); len(as) != 0 {
		t.Fatalf("the deleted job's attempts remain: %v", as)
	}
	// An hour on, the young job and the newest run have expired too; the
	// running job and the schedule stay.
	if err := n.gcOnce(context.Background(), now.Add(time.Hour), finished); err != nil {
		t.Fatal(err)
	}
	if got := jobIDs(t, st); !slices.Equal(got, []string{"running", "tick"}) {
		t.Fatalf("jobs an hour later = %v, want [running tick]", got)
	}
}

func TestGCKeepsEverythingWithoutATTL(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC)
	n, st := gcFixture(t, now)
	n.cfg.FinishedJobTTL = 0
	before := jobIDs(t, st)
	if err := n.gcOnce(context.Background(), now.Add(1000*time.Hour), map[string]finishedJob{}); err != nil {
		t.Fatal(err)
	}
	// Only the job with its own TTL and the runs beyond the history limit go.
	var want []string
	for _, id := range before {
		if id != "own-ttl" && id != cron.RunID("tick", now.Add(-3*time.Hour).Truncate(time.Hour)) && id != cron.RunID("tick", now.Add(-2*time.Hour).Truncate(time.Hour)) {
			want = append(want, id)
		}
	}
	if got := jobIDs(t, st); !slices.Equal(got, want) {
		t.Fatalf("jobs = %v, want %v", got, want)
	}
}

func TestPurge(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC)
	n, st := gcFixture(t, now)
	ctx := context.Background()
	var ce *ConflictError
	if _, err := n.Purge(ctx, "running"); !errors.As(err, &ce) {
		t.Fatalf("Purge(running) = %v, want a ConflictError", err)
	}
	if _, err := n.Purge(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Purge(nope) = %v, want ErrNotFound", err)
	}
	if _, err := n.Purge(ctx, "young"); err != nil {
		t.Fatalf("Purge(young) = %v", err)
	}
	if _, err := n.Purge(ctx, "tick"); err != nil {
		t.Fatalf("Purge(tick) = %v", err)
	}
	if got := jobIDs(t, st); !slices.Equal(got, []string{"failed-old", "old", "own-ttl", "running"}) {
		t.Fatalf("jobs after purges = %v (the schedule goes with its runs)", got)
	}
	if as, _ := st.Attempts(ctx, "young"); len(as) != 0 {
		t.Fatalf("purged job's attempts remain: %v", as)
	}
}
