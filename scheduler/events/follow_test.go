package events

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// countingFollower counts the whole reads of a following store.
type countingFollower struct {
	store.Store
	f     store.AttemptFollower
	scans atomic.Int64
}

func (c *countingFollower) ScanAttemptsAt(ctx context.Context, jobID string, fn func([]job.Attempt) error) (int64, error) {
	c.scans.Add(1)
	return c.f.ScanAttemptsAt(ctx, jobID, fn)
}

func (c *countingFollower) WatchAttempts(ctx context.Context, fromRev int64) <-chan store.AttemptChanges {
	return c.f.WatchAttempts(ctx, fromRev)
}

// readsWhole hides the store's AttemptFollower: the detector reads every
// unfinished job whole at every poll, as it did before following.
type readsWhole struct{ store.Store }

// followingStore is what the scenario writes with.
type followingStore interface {
	store.Store
	store.AttemptFollower
	store.AttemptDeleter
	store.JobDeleter
}

// followScenario drives a detector following the store's changes and one
// reading every job whole at every poll through the same writes — running
// instances, failures and retries, a forgotten watch history (compact), a
// job deleted while it runs, a success and its fold — and checks that they
// announce the same events and that the follower read the running job
// whole only when it had to. sync: the store's changes reach the watch
// before the write returns (the memory store), so one poll must do.
func followScenario(t *testing.T, st followingStore, compact func(), sync bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	counted := &countingFollower{Store: st, f: st}
	following, whole := NewLog(1000), NewLog(1000)
	fd := NewDetector(DetectorConfig{Store: counted, Log: following})
	defer fd.endWatch()
	wd := NewDetector(DetectorConfig{Store: readsWhole{st}, Log: whole})
	step := func(name string, write func() error) {
		t.Helper()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := wd.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for polls := 1; ; polls++ {
			if err := fd.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if following.Last() == whole.Last() && sameStatuses(fd.known, wd.known) {
				break
			}
			if sync || time.Now().After(deadline) {
				t.Fatalf("%s: after %d polls the follower announced %s, reading whole %s", name, polls,
					types(all(following)), types(all(whole)))
			}
			time.Sleep(20 * time.Millisecond) // the watch delivers asynchronously
		}
	}
	run := func(i, n int, state job.AttemptState, verdict string) job.Attempt {
		a := job.Attempt{Job: "follow-1", Task: "work", Index: i, Attempt: n, State: state, Verdict: verdict, Created: time.Unix(100, 0).UTC()}
		if state.Terminal() {
			a.Ended = time.Unix(int64(200+i+n), 0).UTC()
		}
		if state == job.AttemptFailed {
			code := 3
			a.ExitCode, a.Message = &code, fmt.Sprint("exit 3 at ", i)
		}
		return a
	}
	put := func(as ...job.Attempt) func() error { return func() error { return st.PutAttempts(ctx, as) } }
	j := &job.Job{ID: "follow-1", Submitted: time.Unix(100, 0).UTC(), Spec: job.Spec{Name: "follow", Tasks: []job.TaskSpec{
		{Name: "work", Command: "true", Instances: 6, Retries: 1},
		{Name: "after", Command: "true", Instances: 1, Depends: []string{"work"}},
	}}}

	step("baseline", func() error { return nil })
	step("submitted", func() error { return st.CreateJob(ctx, j) })
	scans := counted.scans.Load()
	step("running", put(run(0, 0, job.AttemptRunning, ""), run(1, 0, job.AttemptRunning, ""), run(2, 0, job.AttemptRunning, ""),
		run(3, 0, job.AttemptRunning, ""), run(4, 0, job.AttemptRunning, ""), run(5, 0, job.AttemptRunning, "")))
	step("some succeed, one fails", put(run(0, 0, job.AttemptSucceeded, job.VerdictDone), run(1, 0, job.AttemptSucceeded, job.VerdictDone),
		run(3, 0, job.AttemptFailed, job.VerdictAgain)))
	step("the retry runs", put(run(3, 1, job.AttemptRunning, "")))
	step("another fails", put(run(4, 0, job.AttemptFailed, job.VerdictAgain)))
	step("its retry runs", put(run(4, 1, job.AttemptRunning, "")))
	if n := counted.scans.Load() - scans; n != 0 {
		t.Fatalf("the running job was read whole %d times after its first read, want it followed", n)
	}
	step("history compacted", func() error { compact(); return nil })
	step("more succeed", put(run(2, 0, job.AttemptSucceeded, job.VerdictDone), run(3, 1, job.AttemptSucceeded, job.VerdictDone)))
	other := &job.Job{ID: "gone-1", Submitted: time.Unix(100, 0).UTC(), Spec: job.Spec{Name: "gone", Tasks: []job.TaskSpec{{Name: "work", Command: "true", Instances: 2}}}}
	step("another job", func() error { return st.CreateJob(ctx, other) })
	step("it runs", put(job.Attempt{Job: "gone-1", Task: "work", State: job.AttemptRunning}, job.Attempt{Job: "gone-1", Task: "work", Index: 1, State: job.AttemptRunning}))
	step("it is deleted", func() error { return st.DeleteJob(ctx, "gone-1") })
	step("work succeeds", put(run(4, 1, job.AttemptSucceeded, job.VerdictDone), run(5, 0, job.AttemptSucceeded, job.VerdictDone)))
	step("after runs", put(job.Attempt{Job: "follow-1", Task: "after", State: job.AttemptRunning, Created: time.Unix(300, 0).UTC()}))
	step("after succeeds", put(job.Attempt{Job: "follow-1", Task: "after", State: job.AttemptSucceeded, Verdict: job.VerdictDone,
		Created: time.Unix(300, 0).UTC(), Ended: time.Unix(301, 0).UTC()}))
	step("folded", func() error {
		as, err := st.Attempts(ctx, "follow-1")
		if err != nil {
			return err
		}
		folds := job.PlanFolds(&j.Spec, as)
		if _, err := st.UpdateJob(ctx, "follow-1", func(j *job.Job) error { j.Folded = folds; return nil }); err != nil {
			return err
		}
		_, err = st.DeleteFolded(ctx, "follow-1", folds)
		return err
	})
	got, want := all(following), all(whole)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("following announced\n%+v\nreading whole\n%+v", got, want)
	}
	if s := types(want); s != "job.submitted task.running[work](pending) job.running(pending) instance.failed[work] instance.failed[work] "+
		"job.submitted task.running[work](pending) job.running(pending) task.succeeded[work](running) "+
		"task.running[after](pending) task.succeeded[after](running) job.succeeded(running)" {
		t.Fatalf("events %s: not the scenario's", s)
	}
}

// all is every event of l with what differs between two logs (id, time,
// sequence) left out.
func all(l *Log) []Event {
	evs, _, _ := l.Since(0, 1000)
	out := make([]Event, len(evs))
	for i, e := range evs {
		e.ID, e.Seq, e.Time = "", 0, time.Time{}
		out[i] = e
	}
	return out
}

func sameStatuses(a, b map[string]seen) bool {
	if len(a) != len(b) {
		return false
	}
	for id, s := range a {
		if !reflect.DeepEqual(s.status, b[id].status) {
			return false
		}
	}
	return true
}

// Following the memory store's changes announces what reading every job
// whole does, one poll after each write.
func TestDetectorFollowsMemory(t *testing.T) {
	m := store.NewMemory()
	followScenario(t, m, m.CompactAttemptHistory, true)
}

// Following etcd's changes announces what reading every job whole does,
// across a compaction.
func TestDetectorFollowsEtcd(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	compact := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
			t.Fatal(err)
		}
	}
	followScenario(t, store.NewEtcd(cli, "/events-follow/"), compact, false)
}
