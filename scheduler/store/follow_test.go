package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// nextBatch waits for the watch's next batch; ok is false once it closed.
func nextBatch(t *testing.T, ch <-chan store.AttemptChanges) (store.AttemptChanges, bool) {
	t.Helper()
	select {
	case b, ok := <-ch:
		return b, ok
	case <-time.After(20 * time.Second):
		t.Fatal("no batch from the watch in 20 s")
		return store.AttemptChanges{}, false
	}
}

// A watch of etcd from a revision compacted since (the reader was slow, or
// away) ends with ErrCompacted and closes, while a watch from the
// compacted revision on follows.
func TestEtcdWatchAttemptsCompacted(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := store.NewEtcd(cli, "/follow/")
	a := job.Attempt{Job: "c", Task: "t", State: job.AttemptRunning}
	if err := s.PutAttempts(ctx, []job.Attempt{a}); err != nil {
		t.Fatal(err)
	}
	rev, err := s.ScanAttemptsAt(ctx, "c", func([]job.Attempt) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	following := s.WatchAttempts(ctx, rev+1)
	a.State = job.AttemptSucceeded
	if err := s.PutAttempts(ctx, []job.Attempt{a}); err != nil {
		t.Fatal(err)
	}
	if b, ok := nextBatch(t, following); !ok || b.Err != nil || len(b.Changes) != 1 || b.Changes[0].Attempt.State != job.AttemptSucceeded {
		t.Fatalf("first batch %+v (open %v), want the put of the succeeded record", b, ok)
	}
	resp, err := cli.Put(ctx, "/follow/attempts/c/t/1/0", `{"job":"c","task":"t","index":1,"state":"running"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	late := s.WatchAttempts(ctx, rev+1)
	b, ok := nextBatch(t, late)
	if !ok || !errors.Is(b.Err, store.ErrCompacted) {
		t.Fatalf("watch from compacted revision %d: %+v (open %v), want ErrCompacted", rev+1, b, ok)
	}
	if _, ok := nextBatch(t, late); ok {
		t.Fatal("the watch stayed open after ErrCompacted")
	}
	// The watch started before the compaction goes on.
	if b, ok := nextBatch(t, following); !ok || b.Err != nil || len(b.Changes) != 1 || b.Changes[0].Attempt.Index != 1 {
		t.Fatalf("running watch after the compaction: %+v (open %v), want the put of index 1", b, ok)
	}
}

// The memory store's watch ends with ErrCompacted when its history is
// forgotten, and a watch from before it is refused the same way.
func TestMemoryWatchAttemptsCompacted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := store.NewMemory()
	a := job.Attempt{Job: "c", Task: "t", State: job.AttemptRunning}
	if err := m.PutAttempts(ctx, []job.Attempt{a}); err != nil {
		t.Fatal(err)
	}
	rev, _ := m.ScanAttemptsAt(ctx, "c", func([]job.Attempt) error { return nil })
	following := m.WatchAttempts(ctx, rev+1)
	m.CompactAttemptHistory()
	if b, ok := nextBatch(t, following); !ok || !errors.Is(b.Err, store.ErrCompacted) {
		t.Fatalf("watch when compacted: %+v (open %v), want ErrCompacted", b, ok)
	}
	if _, ok := nextBatch(t, following); ok {
		t.Fatal("the watch stayed open after ErrCompacted")
	}
	if b, _ := nextBatch(t, m.WatchAttempts(ctx, rev)); !errors.Is(b.Err, store.ErrCompacted) {
		t.Fatalf("watch from before the compaction: %+v, want ErrCompacted", b)
	}
}
