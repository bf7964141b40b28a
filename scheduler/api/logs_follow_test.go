package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// readCountingStore counts the attempt records the API reads: every
// InstanceAttempts call is one poll of a followed instance.
type readCountingStore struct {
	store.Store
	mu          sync.Mutex
	polls       int
	jobReads    int // Attempts calls (every attempt of a job)
	records     int // attempt records returned, all calls
	cancelAfter int // cancel after this many polls
	cancel      context.CancelFunc
}

func (c *readCountingStore) Attempts(ctx context.Context, id string) ([]job.Attempt, error) {
	as, err := c.Store.Attempts(ctx, id)
	c.mu.Lock()
	c.jobReads++
	c.records += len(as)
	c.mu.Unlock()
	return as, err
}

func (c *readCountingStore) InstanceAttempts(ctx context.Context, id, task string, index int) ([]job.Attempt, error) {
	as, err := c.Store.InstanceAttempts(ctx, id, task, index)
	c.mu.Lock()
	c.polls++
	c.records += len(as)
	if c.polls >= c.cancelAfter {
		c.cancel()
	}
	c.mu.Unlock()
	return as, err
}

// followBackend is a leader (scheduling the job or not) or a standby.
type followBackend struct {
	Backend // methods the logs handler does not use
	st      store.Store
	leader  bool
	sched   bool
}

func (b *followBackend) Store() store.Store          { return b.st }
func (b *followBackend) IsLeader() bool              { return b.leader }
func (b *followBackend) Scheduling(id string) bool   { return b.leader && b.sched }
func (b *followBackend) AgentEndpoint(string) string { return "" }

// bigJob stores a job of one task with `instances` instances, the first
// `running` of them running.
func bigJob(t testing.TB, instances, running int) *store.Memory {
	t.Helper()
	ctx := context.Background()
	st := store.NewMemory()
	j := &job.Job{ID: "big", Submitted: time.Now(), Spec: job.Spec{Name: "big", Tasks: []job.TaskSpec{
		{Name: "work", Command: "true", Instances: instances, Resources: job.Resources{CPUs: 0.1, Mem: 16}}}}}
	if err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	as := make([]job.Attempt, running)
	for i := range as {
		as[i] = job.Attempt{Job: "big", Task: "work", Index: i, State: job.AttemptRunning, AgentID: "a1", Hostname: "h1", Created: time.Now()}
	}
	if err := st.PutAttempts(ctx, as); err != nil {
		t.Fatal(err)
	}
	return st
}

// followPending follows the logs of the job's last (pending) instance
// until `polls` polls were made or the handler returns.
func followPending(t testing.TB, b *followBackend, cs *readCountingStore, polls int) *httptest.ResponseRecorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs.cancel, cs.cancelAfter = cancel, polls
	b.st = cs
	s := &server{b: b, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	j, err := cs.GetJob(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	last := j.Spec.Tasks[0].Instances - 1
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/jobs/big/tasks/work/instances/"+strconv.Itoa(last)+"/logs?follow=true", nil)
	r.SetPathValue("id", "big")
	r.SetPathValue("task", "work")
	r.SetPathValue("index", strconv.Itoa(last))
	w := httptest.NewRecorder()
	s.logs(w, r)
	return w
}

func withFastPolls(t testing.TB, jobCheck time.Duration) {
	savedPoll, savedCheck := logPoll, logJobCheck
	logPoll, logJobCheck = time.Microsecond, jobCheck
	t.Cleanup(func() { logPoll, logJobCheck = savedPoll, savedCheck })
}

// Finding 5: a follower of a pending instance read every attempt of the
// job at each 250 ms poll (O(attempts of the job)). A poll now reads the
// one instance's attempts; the job's end comes from the leader's memory,
// or (on a standby) from a derivation at most every logJobCheck.
func TestFollowPendingInstanceReadsOnlyItsAttempts(t *testing.T) {
	withFastPolls(t, time.Hour)
	const polls = 50
	for _, tc := range []struct {
		name         string
		leader       bool
		wantJobReads int
	}{
		{"leader scheduling the job", true, 0},
		{"standby", false, 1}, // the first poll; the next one is due in an hour
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := &readCountingStore{Store: bigJob(t, 20_000, 5_000)}
			followPending(t, &followBackend{leader: tc.leader, sched: true}, cs, polls)
			if cs.polls < polls {
				t.Fatalf("%d polls, want %d", cs.polls, polls)
			}
			if cs.jobReads != tc.wantJobReads {
				t.Errorf("every attempt of the job read %d times in %d polls, want %d", cs.jobReads, cs.polls, tc.wantJobReads)
			}
			if perPoll := float64(cs.records-tc.wantJobReads*5_000) / float64(cs.polls); perPoll > 1 {
				t.Errorf("%.1f attempt records read per poll besides the job checks, want ≤ 1", perPoll)
			}
		})
	}
}

// When the leader no longer schedules the job (it was killed and nothing
// of it runs), the follower derives the job's state once, sees it ended
// and answers that the instance has no attempt.
func TestFollowPendingInstanceEndsWithTheJob(t *testing.T) {
	withFastPolls(t, time.Hour)
	st := bigJob(t, 100, 0)
	if _, err := st.UpdateJob(context.Background(), "big", func(j *job.Job) error { j.KillRequested = true; return nil }); err != nil {
		t.Fatal(err)
	}
	cs := &readCountingStore{Store: st}
	w := followPending(t, &followBackend{leader: true, sched: false}, cs, 1000)
	if w.Code != http.StatusNotFound || cs.jobReads != 1 || cs.polls != 1 {
		t.Fatalf("answer %d %q after %d polls and %d reads of the job's attempts; want 404 after 1 and 1", w.Code, w.Body.String(), cs.polls, cs.jobReads)
	}
}

func TestDeriveJobNow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	every := 5 * time.Second
	for _, tc := range []struct {
		name  string
		k     schedulingKnown
		last  time.Time
		now   time.Time
		wantD bool
	}{
		{"leader schedules it: never", schedulingYes, time.Time{}, t0, false},
		{"leader schedules it, long after the last", schedulingYes, t0, t0.Add(time.Hour), false},
		{"leader no longer schedules it: at once", schedulingNo, time.Time{}, t0, true},
		{"leader no longer schedules it, just derived", schedulingNo, t0, t0.Add(time.Second), false},
		{"standby: the first poll", schedulingUnknown, time.Time{}, t0, true},
		{"standby: within the interval", schedulingUnknown, t0, t0.Add(every - time.Millisecond), false},
		{"standby: the interval passed", schedulingUnknown, t0, t0.Add(every), true},
	} {
		if got := deriveJobNow(tc.k, tc.last, tc.now, every); got != tc.wantD {
			t.Errorf("%s: derive %v, want %v", tc.name, got, tc.wantD)
		}
	}
}

// BenchmarkFollowPendingPoll: one poll of a follower of a pending instance
// in a 20,000-instance job with 5,000 attempts stored.
func BenchmarkFollowPendingPoll(b *testing.B) {
	for _, leader := range []bool{true, false} {
		name := "standby"
		if leader {
			name = "leader"
		}
		b.Run(name, func(b *testing.B) {
			savedPoll := logPoll
			logPoll = time.Nanosecond
			defer func() { logPoll = savedPoll }()
			cs := &readCountingStore{Store: bigJob(b, 20_000, 5_000)}
			b.ResetTimer()
			followPending(b, &followBackend{leader: leader, sched: true}, cs, b.N)
			b.ReportMetric(float64(cs.records)/float64(b.N), "records/poll")
		})
	}
}
