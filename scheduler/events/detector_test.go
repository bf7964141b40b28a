package events

import (
	"context"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

func twoTaskJob(id string) *job.Job {
	return &job.Job{ID: id, Submitted: time.Now().UTC(), Spec: job.Spec{Name: "etl", Tasks: []job.TaskSpec{
		{Name: "a", Command: "true", Instances: 1}, {Name: "b", Command: "true", Instances: 1, Depends: []string{"a"}},
	}}}
}

func attempt(j, task string, state job.AttemptState, verdict string) job.Attempt {
	return job.Attempt{Job: j, Task: task, Attempt: 0, State: state, Verdict: verdict, Created: time.Now()}
}

func TestDetectorPolls(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	old := twoTaskJob("old-1")
	if err := st.CreateJob(ctx, old); err != nil {
		t.Fatal(err)
	}
	l := NewLog(100)
	d := NewDetector(DetectorConfig{Store: st, Log: l})
	if err := d.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if l.Last() != 0 {
		t.Fatal("the first poll (the baseline) made events")
	}
	j := twoTaskJob("etl-1")
	if err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	step := func(want string, as ...job.Attempt) {
		t.Helper()
		if len(as) > 0 {
			if err := st.PutAttempts(ctx, as); err != nil {
				t.Fatal(err)
			}
		}
		before := l.Last()
		if err := d.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		evs, _, _ := l.Since(before, 100)
		if got := types(evs); got != want {
			t.Fatalf("events %q, want %q", got, want)
		}
	}
	step("job.submitted")
	step("task.running[a](pending) job.running(pending)", attempt("etl-1", "a", job.AttemptRunning, ""))
	step("task.succeeded[a](running)", attempt("etl-1", "a", job.AttemptSucceeded, job.VerdictDone))
	step("task.running[b](pending)", attempt("etl-1", "b", job.AttemptRunning, ""))
	step("task.succeeded[b](running) job.succeeded(running)", attempt("etl-1", "b", job.AttemptSucceeded, job.VerdictDone))
	step("")
	// A failing job: the failed attempt is announced before the task's
	// and the job's failure.
	if err := st.CreateJob(ctx, twoTaskJob("bad-1")); err != nil {
		t.Fatal(err)
	}
	step("job.submitted")
	failed := attempt("bad-1", "a", job.AttemptFailed, job.VerdictFail)
	failed.Ended = time.Now()
	step("instance.failed[a] task.failed[a](pending) task.skipped[b](pending) job.failed(pending)", failed)
	step("")
	// The baseline job was never announced but its changes are.
	step("task.running[a](pending) job.running(pending)", attempt("old-1", "a", job.AttemptRunning, ""))
}

func TestDetectorRunsOnChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.NewMemory()
	l := NewLog(100)
	d := NewDetector(DetectorConfig{Store: st, Log: l, MinInterval: 10 * time.Millisecond, Resync: time.Hour})
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	// Wait for the baseline: a job created after it is announced.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; l.Last() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no job.submitted within 30 s of creating jobs")
		}
		_ = st.CreateJob(ctx, twoTaskJob("etl-"+string(rune('a'+i%26))+time.Now().Format("150405.000000")))
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestPollPause(t *testing.T) {
	for _, c := range []struct{ min, took, want time.Duration }{
		{time.Second, 10 * time.Millisecond, time.Second},
		{time.Second, time.Second, 4 * time.Second},
		{0, 0, 0},
	} {
		if got := PollPause(c.min, c.took); got != c.want {
			t.Errorf("PollPause(%s, %s) = %s, want %s", c.min, c.took, got, c.want)
		}
	}
}
