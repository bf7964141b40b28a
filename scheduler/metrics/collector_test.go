package metrics

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var _ Source = (*node.Node)(nil)

type fakeSource struct {
	leader atomic.Bool
	st     store.Store
}

func (f *fakeSource) IsLeader() bool     { return f.leader.Load() }
func (f *fakeSource) Store() store.Store { return f.st }

// Why: task a of job a-1 found no agent with CPU; nothing else was tried.
func (f *fakeSource) Why(jobID, task string) (matcher.Pending, bool) {
	if jobID == "a-1" && task == "a" {
		return matcher.Pending{Code: placement.UnschedulableNow, Reasons: []placement.ReasonCount{{Reason: "no cpu", Count: 3}, {Reason: "no mem", Count: 1}}}, true
	}
	return matcher.Pending{}, false
}

// countingStore counts ListJobs calls, to see the summary reused.
type countingStore struct {
	store.Store
	lists atomic.Int32
}

func (c *countingStore) ListJobs(ctx context.Context) ([]*job.Job, error) {
	c.lists.Add(1)
	return c.Store.ListJobs(ctx)
}

func newJob(t *testing.T, st store.Store, id, queue string, instances int, attempts ...job.Attempt) {
	t.Helper()
	j := &job.Job{ID: id, Spec: job.Spec{Name: "j", Queue: queue, Tasks: []job.TaskSpec{{Name: "a", Command: "true", Instances: instances}}}, Submitted: time.Now()}
	if err := st.CreateJob(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if len(attempts) > 0 {
		if err := st.PutAttempts(context.Background(), attempts); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStateCollector(t *testing.T) {
	cs := &countingStore{Store: store.NewMemory()}
	newJob(t, cs, "a-1", "etl", 3,
		job.Attempt{Job: "a-1", Task: "a", Index: 0, Attempt: 0, State: job.AttemptRunning},
		job.Attempt{Job: "a-1", Task: "a", Index: 1, Attempt: 0, State: job.AttemptFailed, Reason: "REASON_COMMAND_EXECUTOR_FAILED", Verdict: job.VerdictAgain})
	newJob(t, cs, "b-1", "", 2)
	src := &fakeSource{st: cs}
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	c := NewStateCollector(src, StateConfig{MaxAge: 10 * time.Second, Now: clock})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)

	// A standby exports only gleaner_leader (0) and reads nothing.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP gleaner_leader 1 while this scheduler is the leader, else 0.
# TYPE gleaner_leader gauge
gleaner_leader 0
`), "gleaner_leader", "gleaner_jobs", "gleaner_instances"); err != nil {
		t.Fatal(err)
	}
	if cs.lists.Load() != 0 {
		t.Fatal("a standby read the store")
	}

	src.leader.Store(true)
	want := `
# HELP gleaner_attempt_failures Stored attempts that ended failed, killed or lost, by state and reason (exported by the leader only).
# TYPE gleaner_attempt_failures gauge
gleaner_attempt_failures{reason="REASON_COMMAND_EXECUTOR_FAILED",state="failed"} 1
# HELP gleaner_instances Instances of stored jobs by derived state (exported by the leader only).
# TYPE gleaner_instances gauge
gleaner_instances{state="failed"} 0
gleaner_instances{state="killed"} 0
gleaner_instances{state="pending"} 4
gleaner_instances{state="running"} 1
gleaner_instances{state="succeeded"} 0
# HELP gleaner_jobs Stored jobs by derived state (exported by the leader only).
# TYPE gleaner_jobs gauge
gleaner_jobs{state="failed"} 0
gleaner_jobs{state="killed"} 0
gleaner_jobs{state="pending"} 1
gleaner_jobs{state="running"} 1
gleaner_jobs{state="succeeded"} 0
gleaner_jobs{state="suspended"} 0
# HELP gleaner_leader 1 while this scheduler is the leader, else 0.
# TYPE gleaner_leader gauge
gleaner_leader 1
# HELP gleaner_pending_instances_by_reason Pending instances of stored jobs by why their task waits: the leading rejection reason of the last offer cycle, or "not tried" (exported by the leader only).
# TYPE gleaner_pending_instances_by_reason gauge
gleaner_pending_instances_by_reason{reason="no cpu"} 2
gleaner_pending_instances_by_reason{reason="not tried"} 2
# HELP gleaner_queue_pending_instances Pending instances of stored jobs by the jobs' queue (exported by the leader only).
# TYPE gleaner_queue_pending_instances gauge
gleaner_queue_pending_instances{queue="default"} 2
gleaner_queue_pending_instances{queue="etl"} 2
`
	names := []string{"gleaner_leader", "gleaner_jobs", "gleaner_instances", "gleaner_attempt_failures", "gleaner_pending_instances_by_reason", "gleaner_queue_pending_instances"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// Within MaxAge a scrape reuses the summary: a new job is not seen yet.
	newJob(t, cs, "c-1", "", 1)
	now = now.Add(5 * time.Second)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	if n := cs.lists.Load(); n != 1 {
		t.Fatalf("%d reads of the store within MaxAge, want 1", n)
	}
	if got := gaugeValue(t, reg, "gleaner_state_age_seconds"); got != 5 {
		t.Fatalf("summary age %v, want 5", got)
	}
	// After MaxAge it reads again.
	now = now.Add(10 * time.Second)
	if got := gaugeValue(t, reg, "gleaner_jobs", "state", "pending"); got != 2 {
		t.Fatalf("pending jobs after MaxAge: %v, want 2", got)
	}
}

// A failed read keeps the last summary and counts the error.
func TestStateCollectorReadError(t *testing.T) {
	fs := &failingStore{Store: store.NewMemory()}
	newJob(t, fs, "a-1", "", 1)
	src := &fakeSource{st: fs}
	src.leader.Store(true)
	now := time.Unix(1000, 0)
	c := NewStateCollector(src, StateConfig{MaxAge: time.Second, Now: func() time.Time { return now }})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if got := gaugeValue(t, reg, "gleaner_jobs", "state", "pending"); got != 1 {
		t.Fatalf("pending jobs %v", got)
	}
	fs.fail.Store(true)
	now = now.Add(3 * time.Second)
	if got := gaugeValue(t, reg, "gleaner_jobs", "state", "pending"); got != 1 {
		t.Fatalf("pending jobs after a failed read %v, want the last summary's 1", got)
	}
	if got := gaugeValue(t, reg, "gleaner_state_age_seconds"); got != 3 {
		t.Fatalf("age %v, want 3", got)
	}
	if got := testutil.ToFloat64(c.errors); got != 1 {
		t.Fatalf("read errors %v, want 1", got)
	}
}

type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *failingStore) ListJobs(ctx context.Context) ([]*job.Job, error) {
	if f.fail.Load() {
		return nil, context.DeadlineExceeded
	}
	return f.Store.ListJobs(ctx)
}

// gaugeValue gathers reg and returns the value of the series of name with
// the given label pairs (it fails the test when there is none).
func gaugeValue(t *testing.T, reg prometheus.Gatherer, name string, labelPairs ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labelPairs); i += 2 {
				if have[labelPairs[i]] != labelPairs[i+1] {
					continue next
				}
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labelPairs)
	return 0
}

// slowStore advances the test clock by delay on every ListJobs, as a store
// that takes that long to read.
type slowStore struct {
	store.Store
	now   *time.Time
	delay time.Duration
	lists int
}

func (s *slowStore) ListJobs(ctx context.Context) ([]*job.Job, error) {
	s.lists++
	*s.now = s.now.Add(s.delay)
	return s.Store.ListJobs(ctx)
}

// A read taking 2 s is not repeated for 20 × 2 s, however short MaxAge is.
func TestStateCollectorSlowReadStretchesMaxAge(t *testing.T) {
	now := time.Unix(1000, 0)
	ss := &slowStore{Store: store.NewMemory(), now: &now, delay: 2 * time.Second}
	src := &fakeSource{st: ss}
	src.leader.Store(true)
	c := NewStateCollector(src, StateConfig{MaxAge: time.Second, Now: func() time.Time { return now }})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	gather := func() {
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	gather()
	now = now.Add(30 * time.Second) // 32 s after the read began: < 40 s
	gather()
	if ss.lists != 1 {
		t.Fatalf("%d reads within 20 times the first read's 2 s, want 1", ss.lists)
	}
	now = now.Add(10 * time.Second)
	gather()
	if ss.lists != 2 {
		t.Fatalf("%d reads after 42 s, want 2", ss.lists)
	}
}

// attemptsCountingStore counts the reads of each job's attempts.
type attemptsCountingStore struct {
	store.Store
	reads map[string]int
}

func (c *attemptsCountingStore) Attempts(ctx context.Context, id string) ([]job.Attempt, error) {
	c.reads[id]++
	return c.Store.Attempts(ctx, id)
}

// A job that ended is summarized from its attempts once: later reads reuse
// its counts while its record is unchanged, and read its attempts again
// once the record changes (a retry); a running job is read every time.
func TestStateCollectorReadsEndedJobsOnce(t *testing.T) {
	cs := &attemptsCountingStore{Store: store.NewMemory(), reads: map[string]int{}}
	newJob(t, cs, "done-1", "", 2,
		job.Attempt{Job: "done-1", Task: "a", Index: 0, State: job.AttemptSucceeded, Verdict: job.VerdictDone},
		job.Attempt{Job: "done-1", Task: "a", Index: 1, State: job.AttemptFailed, Reason: "REASON_X", Verdict: job.VerdictFail})
	newJob(t, cs, "run-1", "", 2, job.Attempt{Job: "run-1", Task: "a", Index: 0, State: job.AttemptRunning})
	src := &fakeSource{st: cs}
	src.leader.Store(true)
	now := time.Unix(1000, 0)
	c := NewStateCollector(src, StateConfig{MaxAge: time.Second, Now: func() time.Time { return now }})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	for range 3 {
		if got := gaugeValue(t, reg, "gleaner_jobs", "state", "failed"); got != 1 {
			t.Fatalf("failed jobs %v, want 1", got)
		}
		if got := gaugeValue(t, reg, "gleaner_attempt_failures", "state", "failed", "reason", "REASON_X"); got != 1 {
			t.Fatalf("failures %v, want 1", got)
		}
		now = now.Add(2 * time.Second)
	}
	if cs.reads["done-1"] != 1 || cs.reads["run-1"] != 3 {
		t.Fatalf("attempt reads %v, want done-1 once and run-1 at each of 3 refreshes", cs.reads)
	}
	if _, err := cs.UpdateJob(context.Background(), "done-1", func(j *job.Job) error { j.RetriedAt = now; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(t, reg, "gleaner_jobs", "state", "failed"); got != 0 {
		t.Fatalf("failed jobs after a retry %v, want 0", got)
	}
	if cs.reads["done-1"] != 2 {
		t.Fatalf("a changed record was not read again: %v", cs.reads)
	}
}
