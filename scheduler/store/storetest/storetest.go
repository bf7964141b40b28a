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
	t.Run("UpdateConflict", func(t *testing.T) { testUpdateConflict(t, newStore) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testConcurrentUpdates(t, newStore) })
	t.Run("Watch", func(t *testing.T) { testWatch(t, newStore) })
	t.Run("DeleteJob", func(t *testing.T) { testDeleteJob(t, newStore) })
	t.Run("FollowAttempts", func(t *testing.T) { testFollowAttempts(t, newStore) })
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
	stored, err := s.UpdateJob(c, "etl-1", func(j *job.Job) error { j.KillRequested = true; return nil })
	if err != nil || !stored.KillRequested {
		t.Fatalf("UpdateJob = %+v, %v", stored, err)
	}
	if g2, _ := s.GetJob(c, "etl-1"); !g2.KillRequested || g2.Spec.Tasks[0].Instances != 10 {
		t.Fatalf("UpdateJob not applied: %+v", g2)
	}
	refused := errors.New("refused by change")
	if _, err := s.UpdateJob(c, "etl-1", func(j *job.Job) error { j.Suspended = true; return refused }); err != refused {
		t.Fatalf("UpdateJob with a failing change = %v, want the change's error as is", err)
	}
	if g2, _ := s.GetJob(c, "etl-1"); g2.Suspended {
		t.Fatal("a change that failed was stored")
	}
	if _, err := s.UpdateJob(c, "other", func(*job.Job) error { t.Error("change called for a missing job"); return nil }); !errors.Is(err, store.ErrNotFound) {
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

func updateErr(_ *job.Job, err error) error { return err }

// Two updaters of one record: the second lands between the first's read
// and write. The first's write must fail its compare-and-swap, read the
// record again and apply its change to it, so both changes survive.
func testUpdateConflict(t *testing.T, newStore Factory) {
	s, _ := newStore(t)
	c := ctx(t)
	if err := s.CreateJob(c, sampleJob("race")); err != nil {
		t.Fatal(err)
	}
	calls := 0
	stored, err := s.UpdateJob(c, "race", func(j *job.Job) error {
		calls++
		if calls == 1 { // a suspend lands after this read
			if _, err := s.UpdateJob(c, "race", func(j *job.Job) error { j.Suspended = true; return nil }); err != nil {
				return fmt.Errorf("the other updater: %w", err)
			}
		}
		j.KillRequested, j.KillReason = true, "deadline exceeded"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("change applied %d times, want 2 (once more after the conflict)", calls)
	}
	got, err := s.GetJob(c, "race")
	if err != nil {
		t.Fatal(err)
	}
	for what, j := range map[string]*job.Job{"stored": got, "returned": stored} {
		if !j.KillRequested || j.KillReason != "deadline exceeded" || !j.Suspended {
			t.Errorf("%s record: killRequested %v (%q), suspended %v; want both changes", what, j.KillRequested, j.KillReason, j.Suspended)
		}
	}
	// A change that leaves the record as it is writes nothing: no conflict
	// for a writer that read before it.
	calls = 0
	if _, err := s.UpdateJob(c, "race", func(j *job.Job) error {
		calls++
		if calls == 1 {
			if _, err := s.UpdateJob(c, "race", func(j *job.Job) error { j.Suspended = true; return nil }); err != nil {
				return err
			}
		}
		j.LastScheduled = time.Unix(1700000100, 0).UTC()
		return nil
	}); err != nil || calls != 1 {
		t.Errorf("after an unchanged update: %d calls, %v; want 1 (nothing was written)", calls, err)
	}
}

// Many concurrent updaters each add their own mark: none is lost.
func testConcurrentUpdates(t *testing.T, newStore Factory) {
	s, _ := newStore(t)
	c := ctx(t)
	if err := s.CreateJob(c, sampleJob("many")); err != nil {
		t.Fatal(err)
	}
	const writers = 8
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			_, err := s.UpdateJob(c, "many", func(j *job.Job) error {
				j.Rerun = append(j.Rerun, fmt.Sprintf("w%d", w))
				return nil
			})
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetJob(c, "many")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range got.Rerun {
		seen[r]++
	}
	for w := range writers {
		if seen[fmt.Sprintf("w%d", w)] != 1 {
			t.Errorf("writer %d's mark found %d times in %v", w, seen[fmt.Sprintf("w%d", w)], got.Rerun)
		}
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
	// By task id: more than one transaction's worth, a missing one and one
	// that is no Gleaner task id.
	var ids []string
	for i := 0; i < 300; i++ {
		ids = append(ids, job.TaskID("j1", "t", i, 0))
	}
	ids = append(ids, job.TaskID("j1", "t", 7, 1), job.TaskID("j1", "t", 7, 2), "not-a-task-id", job.TaskID("j2", "t", 0, 0))
	byID, err := s.AttemptsByTaskID(c, ids)
	if err != nil || len(byID) != 302 {
		t.Fatalf("AttemptsByTaskID = %d records, %v; want 302", len(byID), err)
	}
	if a := byID[job.TaskID("j1", "t", 7, 0)]; a.State != job.AttemptFailed || a.Hostname != "h1" {
		t.Fatalf("AttemptsByTaskID j1.t.7.0 = %+v", a)
	}
	if _, ok := byID[job.TaskID("j1", "t", 7, 2)]; ok {
		t.Fatal("AttemptsByTaskID returned a record never stored")
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
		"UpdateJob":      updateErr(s.UpdateJob(c, "a", func(j *job.Job) error { j.KillRequested = true; return nil })),
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
	if j, _ := s.GetJob(c, "a"); j.KillRequested {
		t.Errorf("fenced UpdateJob landed")
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

// testDeleteJob: a job and its attempts go together; a job whose id
// extends the deleted one's keeps everything; a fenced delete changes
// nothing.
func testDeleteJob(t *testing.T, newStore Factory) {
	s, lose := newStore(t)
	d, ok := s.(store.JobDeleter)
	if !ok {
		t.Skipf("%T does not delete jobs", s)
	}
	c := ctx(t)
	for _, id := range []string{"j1", "j10"} {
		if err := s.CreateJob(c, sampleJob(id)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutAttempts(c, []job.Attempt{{Job: id, Task: "extract", Index: 0}, {Job: id, Task: "extract", Index: 1, Attempt: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.DeleteJob(c, "j1"); err != nil {
		t.Fatalf("DeleteJob = %v", err)
	}
	if _, err := s.GetJob(c, "j1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob after delete = %v, want ErrNotFound", err)
	}
	if as, err := s.Attempts(c, "j1"); err != nil || len(as) != 0 {
		t.Errorf("Attempts after delete = %d, %v; want none", len(as), err)
	}
	if as, _ := s.Attempts(c, "j10"); len(as) != 2 {
		t.Errorf("Attempts of j10 = %d, want 2 (deleting j1 must not touch j10)", len(as))
	}
	if err := d.DeleteJob(c, "j1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteJob = %v, want ErrNotFound", err)
	}
	lose()
	if err := d.DeleteJob(c, "j10"); !errors.Is(err, store.ErrNotLeader) {
		t.Errorf("DeleteJob after losing leadership = %v, want ErrNotLeader", err)
	}
	if _, err := s.GetJob(c, "j10"); err != nil {
		t.Errorf("fenced DeleteJob landed: %v", err)
	}
}

// testFollowAttempts: a watch from the revision after a scan sends exactly
// the attempt changes made after it, in order: an overwrite, a new attempt,
// a delete, and a job's delete as a delete of each of its records.
func testFollowAttempts(t *testing.T, newStore Factory) {
	s, _ := newStore(t)
	f, ok := s.(store.AttemptFollower)
	if !ok {
		t.Skipf("%T does not follow attempts", s)
	}
	c := ctx(t)
	id := "follow-1"
	if err := s.CreateJob(c, sampleJob(id)); err != nil {
		t.Fatal(err)
	}
	run := func(i, n int, st job.AttemptState) job.Attempt {
		return job.Attempt{Job: id, Task: "extract", Index: i, Attempt: n, State: st}
	}
	if err := s.PutAttempts(c, []job.Attempt{run(0, 0, job.AttemptRunning), run(1, 0, job.AttemptFailed), run(2, 0, job.AttemptRunning)}); err != nil {
		t.Fatal(err)
	}
	scanned := 0
	rev, err := f.ScanAttemptsAt(c, id, func(as []job.Attempt) error { scanned += len(as); return nil })
	if err != nil || scanned != 3 || rev <= 0 {
		t.Fatalf("ScanAttemptsAt = revision %d, %d records, %v; want 3 records", rev, scanned, err)
	}
	wctx, cancel := context.WithCancel(c)
	defer cancel()
	changes := f.WatchAttempts(wctx, rev+1)
	if err := s.PutAttempts(c, []job.Attempt{run(0, 0, job.AttemptSucceeded)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAttempts(c, []job.Attempt{run(1, 1, job.AttemptRunning)}); err != nil {
		t.Fatal(err)
	}
	if err := s.(store.AttemptDeleter).DeleteAttempts(c, []job.Attempt{run(2, 0, "")}); err != nil {
		t.Fatal(err)
	}
	if err := s.(store.JobDeleter).DeleteJob(c, id); err != nil {
		t.Fatal(err)
	}
	var got []store.AttemptChange
	for len(got) < 6 {
		select {
		case b, ok := <-changes:
			if !ok || b.Err != nil {
				t.Fatalf("watch ended (%v) after %d changes, want 6", b.Err, len(got))
			}
			got = append(got, b.Changes...)
		case <-c.Done():
			t.Fatalf("%d changes seen, want 6", len(got))
		}
	}
	name := func(ch store.AttemptChange) string {
		return fmt.Sprintf("deleted=%v %s/%s/%d/%d %s", ch.Deleted, ch.Attempt.Job, ch.Attempt.Task, ch.Attempt.Index, ch.Attempt.Attempt, ch.Attempt.State)
	}
	want := []string{
		"deleted=false follow-1/extract/0/0 succeeded", "deleted=false follow-1/extract/1/1 running", "deleted=true follow-1/extract/2/0 ",
	}
	last := rev
	for i, ch := range got {
		if ch.Rev <= rev || ch.Rev < last {
			t.Errorf("change %d (%s) at revision %d: want after the scan's %d, in order", i, name(ch), ch.Rev, rev)
		}
		last = ch.Rev
		if i < len(want) && name(ch) != want[i] {
			t.Errorf("change %d = %s, want %s", i, name(ch), want[i])
		}
	}
	jobDeleted := map[string]bool{}
	for _, ch := range got[3:] {
		jobDeleted[name(ch)] = true
		if ch.Rev != got[3].Rev {
			t.Errorf("job delete's %s at revision %d, want one revision (%d)", name(ch), ch.Rev, got[3].Rev)
		}
	}
	for _, w := range []string{"deleted=true follow-1/extract/0/0 ", "deleted=true follow-1/extract/1/0 ", "deleted=true follow-1/extract/1/1 "} {
		if !jobDeleted[w] {
			t.Errorf("job delete: no %s among %v", w, jobDeleted)
		}
	}
	select {
	case b, ok := <-changes:
		if ok {
			t.Errorf("a change more: %+v", b)
		}
	case <-time.After(100 * time.Millisecond):
	}
}
