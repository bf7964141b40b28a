package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// RunNow refuses what it cannot run (the creation itself is createRun's,
// which the cron loop uses too); its run IDs never collide with the
// schedule's own.
func TestRunNowRefusals(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	st.CreateJob(ctx, &job.Job{ID: "plain", Spec: job.Spec{Name: "plain"}})
	st.CreateJob(ctx, &job.Job{ID: "killed", KillRequested: true, Spec: job.Spec{Name: "killed", Schedule: &job.Schedule{Cron: "@hourly"}}})
	n := &Node{cur: &term{store: st}}
	for _, id := range []string{"plain", "killed"} {
		var ce *ConflictError
		if _, err := n.RunNow(ctx, id); !errors.As(err, &ce) {
			t.Errorf("run-now %s: %v; want a conflict", id, err)
		}
	}
	if _, err := n.RunNow(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("run-now of a missing job: %v", err)
	}
	at := time.Unix(1700000000, 0)
	if RunNowID("x", at) == cron.RunID("x", at) {
		t.Fatal("a run-now ID is a scheduled run's")
	}
	if _, ok := cron.ParseRunID("x", RunNowID("x", at)); ok {
		t.Fatal("a run-now ID parses as a scheduled run")
	}
}
