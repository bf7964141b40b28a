package framework

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// interleavingStore runs another writer's update of the job record once,
// between the next UpdateJob's read of the record and its write.
type interleavingStore struct {
	*store.Memory
	between func()
}

func (s *interleavingStore) UpdateJob(ctx context.Context, id string, change func(*job.Job) error) (*job.Job, error) {
	return s.Memory.UpdateJob(ctx, id, func(j *job.Job) error {
		if other := s.between; other != nil {
			s.between = nil
			other()
		}
		return change(j)
	})
}

func deadlineJobFramework(t *testing.T) (*Framework, *interleavingStore) {
	t.Helper()
	st := &interleavingStore{Memory: store.NewMemory()}
	j := &job.Job{ID: "j", Submitted: time.Now(), Spec: job.Spec{Name: "j", Tasks: []job.TaskSpec{
		{Name: "t", Command: "true", Instances: 1, Resources: job.Resources{CPUs: 0.1, Mem: 16}}}}}
	if err := st.CreateJob(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(nil)
	eng.AddJob(j)
	return New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st, eng), st
}

func suspend(j *job.Job) error { j.Suspended = true; return nil }

// A deadline kill (tick loop) racing a suspend (node, API): both changes
// survive in the job record, whichever lands inside the other's
// read-modify-write. Before UpdateJob was a compare-and-swap, the first
// case lost the suspend and the second lost KillRequested.
func TestDeadlineKillRacingSuspendKeepsBoth(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		race func(t *testing.T, f *Framework, st *interleavingStore)
	}{
		{"suspend lands inside the kill", func(t *testing.T, f *Framework, st *interleavingStore) {
			st.between = func() {
				if _, err := st.Memory.UpdateJob(ctx, "j", suspend); err != nil {
					t.Error(err)
				}
			}
			f.killJob(ctx, "j", engine.ReasonDeadline)
		}},
		{"kill lands inside the suspend", func(t *testing.T, f *Framework, st *interleavingStore) {
			st.between = func() {
				st.between = nil
				f.killJob(ctx, "j", engine.ReasonDeadline)
			}
			if _, err := st.UpdateJob(ctx, "j", suspend); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, st := deadlineJobFramework(t)
			tc.race(t, f, st)
			got, err := st.GetJob(ctx, "j")
			if err != nil {
				t.Fatal(err)
			}
			if !got.KillRequested || got.KillReason != engine.ReasonDeadline || !got.Suspended {
				t.Fatalf("job record: killRequested %v (%q), suspended %v; want both", got.KillRequested, got.KillReason, got.Suspended)
			}
		})
	}
}
