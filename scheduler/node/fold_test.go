package node

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// scanCounter counts the reads of a job's attempts.
type scanCounter struct {
	*store.Memory
	scans map[string]int
}

func (s *scanCounter) ScanAttempts(ctx context.Context, jobID string, fn func([]job.Attempt) error) error {
	s.scans[jobID]++
	return s.Memory.ScanAttempts(ctx, jobID, fn)
}

// A succeeded big job is folded with its status unchanged; a failed one
// is read once, and again only after its record changed.
func TestFoldOnceFoldsAndRemembersWhatDoesNotFold(t *testing.T) {
	ctx := context.Background()
	st := &scanCounter{Memory: store.NewMemory(), scans: map[string]int{}}
	spec := job.Spec{Name: "big", Tasks: []job.TaskSpec{{Name: "a", Command: "true", Instances: 12}}}
	for _, id := range []string{"ok", "failed"} {
		if err := st.CreateJob(ctx, &job.Job{ID: id, Spec: spec}); err != nil {
			t.Fatal(err)
		}
		var as []job.Attempt
		for i := range 12 {
			a := job.Attempt{Job: id, Task: "a", Index: i, State: job.AttemptSucceeded, Verdict: job.VerdictDone}
			if id == "failed" && i == 4 {
				a.State, a.Verdict = job.AttemptFailed, job.VerdictFail
			}
			as = append(as, a)
		}
		if err := st.PutAttempts(ctx, as); err != nil {
			t.Fatal(err)
		}
	}
	before := status(t, st, "ok")
	n := &Node{cfg: Config{FoldMinInstances: 10}, log: slog.New(slog.DiscardHandler)}
	n.cur = &term{store: st, engine: engine.New(matcher.New(matcher.Config{}))}
	unfoldable := map[string][32]byte{}
	if err := n.foldOnce(ctx, unfoldable); err != nil {
		t.Fatal(err)
	}
	if left, _ := st.Attempts(ctx, "ok"); len(left) != 0 {
		t.Fatalf("%d records of the succeeded job left, want none", len(left))
	}
	if after := status(t, st, "ok"); after.State != job.Succeeded || after.Tasks[0].Counts != before.Tasks[0].Counts {
		t.Fatalf("folded job: %s %+v, want succeeded %+v", after.State, after.Tasks[0].Counts, before.Tasks[0].Counts)
	}
	if left, _ := st.Attempts(ctx, "failed"); len(left) != 12 {
		t.Fatalf("failed job: %d records left, want its 12", len(left))
	}
	scans := st.scans["failed"]
	if err := n.foldOnce(ctx, unfoldable); err != nil {
		t.Fatal(err)
	}
	if st.scans["failed"] != scans {
		t.Fatalf("the failed job was read again with its record unchanged")
	}
	if _, err := st.UpdateJob(ctx, "failed", func(j *job.Job) error { j.KillReason = "changed"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := n.foldOnce(ctx, unfoldable); err != nil {
		t.Fatal(err)
	}
	if st.scans["failed"] != scans+1 {
		t.Fatalf("the failed job was read %d times after its record changed, want once", st.scans["failed"]-scans)
	}
}

func status(t *testing.T, st store.Store, id string) job.Status {
	t.Helper()
	j, err := st.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	as, err := st.Attempts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return jobstatus.Derive(j, as)
}

// Retention leaves a big finished job to the fold first: it is not read
// whole twice. Once folded, or found not to fold, retention reads it.
func TestGCLeavesABigFinishedJobToTheFoldFirst(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	st := &scanCounter{Memory: store.NewMemory(), scans: map[string]int{}}
	spec := job.Spec{Name: "big", Tasks: []job.TaskSpec{{Name: "a", Command: "true", Instances: 12}}}
	for _, id := range []string{"ok", "failed"} {
		if err := st.CreateJob(ctx, &job.Job{ID: id, Spec: spec, Submitted: now.Add(-3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var as []job.Attempt
		for i := range 12 {
			a := job.Attempt{Job: id, Task: "a", Index: i, State: job.AttemptSucceeded, Verdict: job.VerdictDone, Ended: now.Add(-2 * time.Hour)}
			if id == "failed" && i == 4 {
				a.State, a.Verdict = job.AttemptFailed, job.VerdictFail
			}
			as = append(as, a)
		}
		if err := st.PutAttempts(ctx, as); err != nil {
			t.Fatal(err)
		}
	}
	n := &Node{cfg: Config{FoldMinInstances: 10, FinishedJobTTL: time.Hour}, log: slog.New(slog.DiscardHandler)}
	n.cur = &term{store: st, engine: engine.New(matcher.New(matcher.Config{}))}
	n.unfoldable = map[string][32]byte{}
	finished := map[string]finishedJob{}

	if err := n.gcOnce(ctx, now, finished); err != nil {
		t.Fatal(err)
	}
	if st.scans["ok"] != 0 || st.scans["failed"] != 0 || len(jobIDs(t, st)) != 2 {
		t.Fatalf("retention read or deleted big jobs the fold had not decided on: scans %v, jobs %v", st.scans, jobIDs(t, st))
	}
	if err := n.foldOnce(ctx, n.unfoldable); err != nil {
		t.Fatal(err)
	}
	folded := st.scans["ok"]
	if err := n.gcOnce(ctx, now, finished); err != nil {
		t.Fatal(err)
	}
	if got := jobIDs(t, st); len(got) != 0 {
		t.Fatalf("jobs past their TTL left after the fold decided: %v", got)
	}
	if st.scans["ok"] != folded+1 {
		t.Fatalf("retention read the folded job %d times, want once (its records mostly gone)", st.scans["ok"]-folded)
	}
}
