package events

import (
	"context"
	"reflect"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// The statuses a Detector serves the API's watches (JobStatus) are the
// ones the API derives from the stored records, after every read; a read
// that derives again wakes StatusesChanged's waiters, one that finds
// nothing new does not.
func TestDetectorStatusesAreTheAPIs(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	d := NewDetector(DetectorConfig{Store: st, Log: NewLog(100)})
	j := twoTaskJob("etl-1")
	if err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	apiStatus := func() job.Status {
		r := jobstatus.NewReduction(j)
		if err := store.ScanAttempts(ctx, st, j.ID, func(page []job.Attempt) error { r.Add(page); return nil }); err != nil {
			t.Fatal(err)
		}
		return r.Status()
	}
	steps := [][]job.Attempt{
		nil,
		{attempt("etl-1", "a", job.AttemptRunning, "")},
		{attempt("etl-1", "a", job.AttemptSucceeded, job.VerdictDone)},
		{attempt("etl-1", "b", job.AttemptFailed, job.VerdictAgain)},
		{{Job: "etl-1", Task: "b", Attempt: 1, State: job.AttemptLaunching}},
		{{Job: "etl-1", Task: "b", Attempt: 1, State: job.AttemptSucceeded, Verdict: job.VerdictDone}},
	}
	for i, as := range steps {
		if len(as) > 0 {
			if err := st.PutAttempts(ctx, as); err != nil {
				t.Fatal(err)
			}
		}
		changed := d.StatusesChanged()
		if err := d.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-changed:
		default:
			t.Fatalf("step %d: a read that derived the job again did not signal", i)
		}
		got, ok := d.JobStatus("etl-1")
		if want := apiStatus(); !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: detector's status %+v (known %v), want the API's %+v", i, got, ok, want)
		}
	}
	changed := d.StatusesChanged()
	if err := d.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("a read that found nothing new signalled a change")
	default:
	}
	if _, ok := d.JobStatus("nope"); ok {
		t.Fatal("a job the detector never read has a status")
	}
}
