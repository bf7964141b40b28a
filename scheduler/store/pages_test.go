package store_test

import (
	"context"
	"errors"
	"testing"
	"time"
	"unsafe"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// A job with more attempt records than one page is read whole, in order,
// and its records share one copy of each repeated string (the scheduler
// held 200,000 copies of the job id, task, agent and host names per read
// of a 200,000-instance job, issue 16).
func TestEtcdAttemptsAcrossPages(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const page = 500
	s := store.NewEtcd(cli, "/pages/").WithAttemptPageSize(page)
	n := 2*page + 17
	as := make([]job.Attempt, 0, n+1)
	for i := range n {
		as = append(as, job.Attempt{Job: "big", Task: "work", Index: i, Attempt: 1, State: job.AttemptSucceeded,
			AgentID: "agent-" + string(rune('a'+i%3)), Hostname: "host-" + string(rune('a'+i%3)), MesosState: "TASK_FINISHED",
			Verdict: job.VerdictDone, Created: time.Unix(int64(i), 0).UTC()})
	}
	as = append(as, job.Attempt{Job: "big", Task: "work", Index: 5, Attempt: 2, State: job.AttemptRunning})
	// Another job whose keys sort right after "big"'s must stay out.
	other := job.Attempt{Job: "big2", Task: "work", Index: 0, Attempt: 1, State: job.AttemptRunning}
	if err := s.PutAttempts(ctx, append(as, other)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Attempts(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n+1 {
		t.Fatalf("read %d attempts, want %d", len(got), n+1)
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.Index > b.Index || (a.Index == b.Index && a.Attempt >= b.Attempt) {
			t.Fatalf("attempts out of order at %d: %d/%d then %d/%d", i, a.Index, a.Attempt, b.Index, b.Attempt)
		}
		if b.Job != "big" {
			t.Fatalf("attempt of job %q in job big's records", b.Job)
		}
	}
	if g := got[6]; g.Index != 5 || g.Attempt != 2 || g.State != job.AttemptRunning {
		t.Fatalf("got[6] = %d/%d %s, want instance 5's second attempt, running", g.Index, g.Attempt, g.State)
	}
	first, last := got[0], got[len(got)-1]
	for _, f := range []struct{ name, a, b string }{
		{"job", first.Job, last.Job}, {"task", first.Task, last.Task}, {"mesosState", first.MesosState, got[len(got)-2].MesosState},
		{"hostname", got[0].Hostname, got[3].Hostname}, {"state", string(first.State), string(got[len(got)-2].State)},
	} {
		if f.a != f.b || unsafe.StringData(f.a) != unsafe.StringData(f.b) {
			t.Errorf("%s %q and %q are separate copies, want one shared string", f.name, f.a, f.b)
		}
	}
}

// ScanAttempts hands over every instance's records in one call, even when
// they straddle a page or fill more than one, at one revision, and all of
// them once (issue 16: readers that need counts page through a big job).
func TestEtcdScanAttemptsKeepsInstancesWhole(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := store.NewEtcd(cli, "/scan/").WithAttemptPageSize(4)
	var as []job.Attempt
	for i := range 23 {
		for n := range 1 + i%3 + 5*b2i(i == 7) { // instance 7 has 7 attempts: more than a page
			as = append(as, job.Attempt{Job: "j", Task: "t", Index: i, Attempt: n, State: job.AttemptFailed})
		}
	}
	if err := s.PutAttempts(ctx, append(as, job.Attempt{Job: "j2", Task: "t", State: job.AttemptRunning})); err != nil {
		t.Fatal(err)
	}
	type inst struct {
		task  string
		index int
	}
	seen := map[inst]int{}
	calls, total := 0, 0
	err = s.ScanAttempts(ctx, "j", func(page []job.Attempt) error {
		calls++
		inPage := map[inst]int{}
		for _, a := range page {
			if a.Job != "j" {
				t.Errorf("attempt of job %q in job j's scan", a.Job)
			}
			k := inst{a.Task, a.Index}
			if _, ok := seen[k]; ok {
				t.Errorf("instance %d in two calls", a.Index)
			}
			if a.Attempt != inPage[k] {
				t.Errorf("instance %d: attempt %d where %d was due (oldest first)", a.Index, a.Attempt, inPage[k])
			}
			inPage[k]++
		}
		for k, n := range inPage {
			seen[k] = n
		}
		total += len(page)
		// A write while scanning is not seen: every page at one revision.
		return s.PutAttempts(ctx, []job.Attempt{{Job: "j", Task: "t", Index: 100 + calls, State: job.AttemptRunning}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(as) || len(seen) != 23 {
		t.Fatalf("scanned %d attempts of %d instances, want %d of 23", total, len(seen), len(as))
	}
	if seen[inst{"t", 7}] != 7 {
		t.Fatalf("instance 7: %d attempts, want 7", seen[inst{"t", 7}])
	}
	if calls < 5 {
		t.Fatalf("%d calls for %d records in pages of 4: not paged", calls, total)
	}
	stop := errors.New("stop")
	if err := s.ScanAttempts(ctx, "j", func([]job.Attempt) error { return stop }); err != stop {
		t.Fatalf("scan whose fn failed: %v, want fn's error", err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DeleteFolded deletes the folded instances' first attempts only, reading
// keys in pages, on etcd and in memory alike.
func TestDeleteFolded(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var as []job.Attempt
	for i := range 30 {
		as = append(as, job.Attempt{Job: "j", Task: "a/b", Index: i, State: job.AttemptSucceeded, Verdict: job.VerdictDone})
	}
	as = append(as,
		job.Attempt{Job: "j", Task: "a/b", Index: 3, Attempt: 1, State: job.AttemptRunning}, // stays: not attempt 0
		job.Attempt{Job: "j", Task: "other", Index: 3, State: job.AttemptSucceeded},         // stays: another task
		job.Attempt{Job: "j2", Task: "a/b", Index: 3, State: job.AttemptSucceeded})          // stays: another job
	folds := job.Folds{"a/b": {{From: 0, To: 5}, {From: 10, To: 25}}}
	for _, s := range []interface {
		store.Store
		store.AttemptDeleter
	}{store.NewEtcd(cli, "/fold/").WithAttemptPageSize(7), store.NewMemory()} {
		if err := s.PutAttempts(ctx, as); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteFolded(ctx, "j", folds)
		if err != nil {
			t.Fatal(err)
		}
		if n != 20 {
			t.Errorf("%T: %d deleted, want 20", s, n)
		}
		left, err := s.Attempts(ctx, "j")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range left {
			if folds.Has(a.Task, a.Index) {
				got = append(got, a.TaskID())
			}
		}
		if len(left) != 30+2-20 || len(got) != 1 || got[0] != "j.a/b.3.1" {
			t.Errorf("%T: %d records left, of folded instances %v; want 12, only j.a/b.3.1", s, len(left), got)
		}
		if other, _ := s.Attempts(ctx, "j2"); len(other) != 1 {
			t.Errorf("%T: job j2 has %d records, want its 1", s, len(other))
		}
	}
}
