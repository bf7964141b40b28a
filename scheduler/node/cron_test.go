package node

import (
	"context"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// The cron loop stores lastScheduled after creating a schedule's runs, from
// a job list read before: a kill stored in between must survive (it was
// overwritten by the listed copy, and the e2e cron failover test saw the
// reverse, a kill's copy losing the last lastScheduled).
func TestStoreLastScheduledKeepsAKillStoredMeanwhile(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	sub := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	parent := &job.Job{ID: "tick", Spec: job.Spec{Name: "tick", Schedule: &job.Schedule{Cron: "@every 1s"}}, Submitted: sub}
	if err := st.CreateJob(ctx, parent); err != nil {
		t.Fatal(err)
	}
	listed, err := st.GetJob(ctx, "tick") // the cron loop's copy
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateJob(ctx, "tick", func(j *job.Job) error { // a kill meanwhile
		j.KillRequested, j.KilledAt = true, sub.Add(time.Second)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n, tm := &Node{}, &term{store: st}
	if err := n.storeLastScheduled(ctx, tm, listed.ID, sub.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetJob(ctx, "tick")
	if !got.KillRequested || !got.LastScheduled.Equal(sub.Add(2*time.Second)) {
		t.Fatalf("job after kill and lastScheduled: kill %v lastScheduled %v", got.KillRequested, got.LastScheduled)
	}
	// An older lastScheduled never moves it back.
	if err := n.storeLastScheduled(ctx, tm, listed.ID, sub.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetJob(ctx, "tick"); !got.LastScheduled.Equal(sub.Add(2 * time.Second)) {
		t.Fatalf("lastScheduled moved back to %v", got.LastScheduled)
	}
}
