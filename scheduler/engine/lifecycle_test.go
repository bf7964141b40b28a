package engine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func parsed(t *testing.T, id, y string) *job.Job {
	t.Helper()
	s, err := spec.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return &job.Job{ID: id, Spec: *s, Submitted: time.Unix(1000, 0)}
}

// end observes a terminal update (with an exit code) and commits it.
func end(t *testing.T, e *Engine, id string, st mesos.TaskState, code int) job.Attempt {
	t.Helper()
	apply(t, e, id, mesos.TASK_RUNNING)
	o := e.Observe(Status{TaskID: id, State: st, ExitCode: &code})
	if o.Attempt == nil {
		t.Fatalf("%s: no record", id)
	}
	e.Commit(*o.Attempt)
	return *o.Attempt
}

func big() []Offer { return []Offer{offer("a", 1000, 100000)} }

func TestBackoffDelaysRetry(t *testing.T) {
	c := &clock{time.Unix(2000, 0)}
	e := New(nil)
	e.SetClock(c.now)
	e.AddJob(parsed(t, "r-1", `{name: r, tasks: [{name: a, command: x, retries: {limit: 2, backoff: {delay: 10s, factor: 2, max: 15s}}}]}`))
	ls := e.Plan(big())
	a := end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 1)
	if a.Verdict != job.VerdictAgain || !a.NotBefore.Equal(c.t.Add(10*time.Second)) {
		t.Fatalf("first failure: %+v", a)
	}
	if e.HasPending() || len(e.Plan(big())) != 0 {
		t.Fatal("retry launched inside its backoff")
	}
	c.t = c.t.Add(9 * time.Second)
	if r := e.Tick(); r.Revive || !r.Next.Equal(a.NotBefore) {
		t.Fatalf("tick before the backoff ended: %+v", r)
	}
	c.t = c.t.Add(time.Second)
	if r := e.Tick(); !r.Revive {
		t.Fatalf("tick at the end of the backoff: %+v", r)
	}
	ls = e.Plan(big())
	if len(ls) != 1 || ls[0].Attempt.Attempt != 1 {
		t.Fatalf("retry: %+v", ls)
	}
	a = end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 1)
	if !a.NotBefore.Equal(c.t.Add(15 * time.Second)) { // 20s capped at max
		t.Fatalf("second backoff: %v", a.NotBefore.Sub(c.t))
	}
	c.t = a.NotBefore
	e.Tick()
	ls = e.Plan(big())
	a = end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 1)
	if a.Verdict != job.VerdictFail || len(e.Jobs()) != 0 {
		t.Fatalf("budget used: %+v, jobs %v", a, e.Jobs())
	}
}

func TestFailurePolicyAndFreeLosses(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "f-1", `{name: f, tasks: [{name: a, command: x, instances: 3, retries: {limit: 0, onFailure: [{action: retry, exitCodes: [75]}, {action: ignore, exitCodes: [3]}]}}]}`))
	ls := e.Plan(big())
	if a := end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 75); a.Verdict != job.VerdictAgain {
		t.Fatalf("retry rule: %+v", a)
	}
	if a := end(t, e, ls[1].Attempt.TaskID(), mesos.TASK_FAILED, 3); a.Verdict != job.VerdictDone {
		t.Fatalf("ignore rule: %+v", a)
	}
	if a := end(t, e, ls[2].Attempt.TaskID(), mesos.TASK_LOST, 0); a.Verdict != job.VerdictAgain {
		t.Fatalf("lost: %+v", a)
	}
	ls = e.Plan(big())
	if len(ls) != 2 {
		t.Fatalf("relaunched %d, want 2 (retry rule and lost use no retry)", len(ls))
	}
	for _, l := range ls {
		end(t, e, l.Attempt.TaskID(), mesos.TASK_FINISHED, 0)
	}
	if len(e.Jobs()) != 0 {
		t.Fatal("job not finished")
	}
}

func TestFailJobKillsTheRest(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "fj-1", `{name: fj, tasks: [{name: a, command: x, instances: 3, onFailure: [{action: failJob, exitCodes: [2]}]}]}`))
	ls := e.Plan(big())
	a := end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 2)
	if a.Verdict != job.VerdictFailJob {
		t.Fatalf("verdict %+v", a)
	}
	r := e.Tick()
	if len(r.Kill) != 2 {
		t.Fatalf("kills %v", r.Kill)
	}
	for id := range r.Kill {
		if a := end(t, e, id, mesos.TASK_KILLED, 0); a.Verdict != job.VerdictStop || a.Reason != ReasonFailJob {
			t.Fatalf("killed attempt %+v", a)
		}
	}
	if len(e.Jobs()) != 0 {
		t.Fatal("job still scheduled")
	}
}

func TestParallelismAndCompletions(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "p-1", `{name: p, tasks: [{name: a, command: x, instances: 10, parallelism: 3, completions: 4}]}`))
	ls := e.Plan(big())
	if len(ls) != 3 || e.HasPending() {
		t.Fatalf("launched %d under parallelism 3", len(ls))
	}
	end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FINISHED, 0)
	ls = append(ls[1:], e.Plan(big())...)
	if len(ls) != 3 {
		t.Fatalf("running %d", len(ls))
	}
	for _, l := range ls {
		end(t, e, l.Attempt.TaskID(), mesos.TASK_FINISHED, 0)
	}
	if len(e.Jobs()) != 0 || len(e.Plan(big())) != 0 {
		t.Fatal("4 completions should finish the task")
	}
}

func TestDiamondExpressionAndSkip(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "d-1", `
name: d
tasks:
- {name: a, command: x}
- {name: b, command: x, depends: [a], retries: 0}
- {name: c, command: x, depends: [a]}
- {name: d, command: x, depends: "b.failed && c"}
- {name: e, command: x, depends: [b]}
`))
	names := func(ls []Launch) map[string]string {
		m := map[string]string{}
		for _, l := range ls {
			m[l.Attempt.Task] = l.Attempt.TaskID()
		}
		return m
	}
	ls := names(e.Plan(big()))
	if len(ls) != 1 || ls["a"] == "" {
		t.Fatalf("first wave %v", ls)
	}
	end(t, e, ls["a"], mesos.TASK_FINISHED, 0)
	ls = names(e.Plan(big()))
	if len(ls) != 2 || ls["b"] == "" || ls["c"] == "" {
		t.Fatalf("second wave %v", ls)
	}
	end(t, e, ls["b"], mesos.TASK_FAILED, 1)
	if got := names(e.Plan(big())); len(got) != 0 {
		t.Fatalf("d ran before c ended: %v", got)
	}
	end(t, e, ls["c"], mesos.TASK_FINISHED, 0)
	ls = names(e.Plan(big()))
	if len(ls) != 1 || ls["d"] == "" {
		t.Fatalf("third wave %v (e must be skipped)", ls)
	}
	end(t, e, ls["d"], mesos.TASK_FINISHED, 0)
	if len(e.Jobs()) != 0 {
		t.Fatal("job not finished")
	}
}

func TestTimeoutKillsAndCounts(t *testing.T) {
	c := &clock{time.Unix(2000, 0)}
	e := New(nil)
	e.SetClock(c.now)
	e.AddJob(parsed(t, "t-1", `{name: t, tasks: [{name: a, command: x, timeout: 5s, retries: 0}]}`))
	ls := e.Plan(big())
	id := ls[0].Attempt.TaskID()
	apply(t, e, id, mesos.TASK_RUNNING)
	c.t = c.t.Add(4 * time.Second)
	if r := e.Tick(); len(r.Kill) != 0 {
		t.Fatalf("killed early: %v", r.Kill)
	}
	c.t = c.t.Add(time.Second)
	if r := e.Tick(); r.Kill[id] == "" {
		t.Fatalf("not killed at the timeout: %v", r.Kill)
	}
	a := end(t, e, id, mesos.TASK_KILLED, 0)
	if a.Verdict != job.VerdictFail || a.Reason != ReasonTimeout {
		t.Fatalf("timed-out attempt %+v", a)
	}
}

// Tick looks at a task's attempts for timeouts only when one can be due,
// and a start reported late (its update waited) brings that forward.
func TestTimeoutCheckedWhenDue(t *testing.T) {
	c := &clock{time.Unix(2000, 0)}
	t0 := c.t
	e := New(nil)
	e.SetClock(c.now)
	e.AddJob(parsed(t, "to-1", `{name: to, tasks: [{name: a, command: x, instances: 2, timeout: 10s, retries: 0}]}`))
	ls := e.Plan(big())
	if len(ls) != 2 {
		t.Fatalf("launched %d, want 2", len(ls))
	}
	early, late := ls[0].Attempt.TaskID(), ls[1].Attempt.TaskID()
	running := func(id string, at time.Time) {
		t.Helper()
		o := e.Observe(Status{TaskID: id, State: mesos.TASK_RUNNING, Time: at})
		if o.Attempt == nil {
			t.Fatalf("RUNNING of %s not taken", id)
		}
		e.Commit(*o.Attempt)
	}
	tickAt := func(at time.Duration, wantKilled ...string) {
		t.Helper()
		c.t = t0.Add(at)
		r := e.Tick()
		var got []string
		for id := range r.Kill {
			got = append(got, id)
		}
		if !slices.Equal(got, wantKilled) {
			t.Fatalf("Tick at +%s killed %v, want %v", at, got, wantKilled)
		}
	}
	c.t = t0.Add(5 * time.Second)
	running(early, c.t) // due at +15s
	tickAt(5 * time.Second)
	// The other reports at +6s that it started at +2s: due at +12s, before
	// the check the last Tick set (+15s).
	c.t = t0.Add(6 * time.Second)
	running(late, t0.Add(2*time.Second))
	tickAt(11 * time.Second)
	tickAt(12*time.Second, late)
	tickAt(14 * time.Second)
	tickAt(15*time.Second, early)
}

func TestDeadline(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	e := New(nil)
	e.SetClock(c.now)
	e.AddJob(parsed(t, "dl-1", `{name: dl, deadline: 1m, tasks: [{name: a, command: x}]}`))
	ls := e.Plan(big())
	c.t = c.t.Add(time.Minute)
	r := e.Tick()
	if len(r.Deadline) != 1 {
		t.Fatalf("deadline %+v", r)
	}
	kills := e.KillWithReason("dl-1", ReasonDeadline)
	if len(kills) != 1 {
		t.Fatalf("kills %v", kills)
	}
	a := end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_KILLED, 0)
	if a.Verdict != job.VerdictStop || a.Reason != ReasonDeadline {
		t.Fatalf("attempt %+v", a)
	}
}

func TestRestartAlways(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	e := New(nil)
	e.SetClock(c.now)
	e.AddJob(parsed(t, "w-1", `{name: w, tasks: [{name: a, command: x, instances: 2, restart: Always, retries: 0, backoff: {delay: 1s}}]}`))
	ls := e.Plan(big())
	for _, l := range ls {
		if a := end(t, e, l.Attempt.TaskID(), mesos.TASK_FAILED, 1); a.Verdict != job.VerdictAgain {
			t.Fatalf("worker failed: %+v", a)
		}
	}
	c.t = c.t.Add(time.Second)
	e.Tick()
	ls = e.Plan(big())
	if len(ls) != 2 {
		t.Fatalf("restarted %d", len(ls))
	}
	a := end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FINISHED, 0)
	if a.Verdict != job.VerdictAgain {
		t.Fatalf("worker exited cleanly: %+v", a)
	}
	if len(e.Plan(big())) != 0 {
		t.Fatal("more workers than instances")
	}
}

func TestSuspendResume(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "s-1", `{name: s, tasks: [{name: a, command: x, instances: 2, retries: 0}]}`))
	ls := e.Plan([]Offer{offer("a", 0.1, 1000)})
	kills := e.Suspend("s-1")
	if len(kills) != 1 || e.HasPending() {
		t.Fatalf("suspend: kills %v pending %v", kills, e.HasPending())
	}
	if a := end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_KILLED, 0); a.Verdict != job.VerdictAgain {
		t.Fatalf("suspended attempt %+v", a)
	}
	e.Resume("s-1")
	if ls = e.Plan(big()); len(ls) != 2 {
		t.Fatalf("after resume %d", len(ls))
	}
}

func TestLoadKeepsVerdicts(t *testing.T) {
	j := parsed(t, "l-1", `{name: l, tasks: [{name: a, command: x, instances: 3, retries: 1}, {name: b, command: x, depends: "a.failed"}]}`)
	code := 1
	as := []job.Attempt{
		{Job: "l-1", Task: "a", Index: 0, Attempt: 0, State: job.AttemptSucceeded, Verdict: job.VerdictDone},
		{Job: "l-1", Task: "a", Index: 1, Attempt: 0, State: job.AttemptFailed, ExitCode: &code, Verdict: job.VerdictAgain},
		{Job: "l-1", Task: "a", Index: 1, Attempt: 1, State: job.AttemptFailed, ExitCode: &code, Verdict: job.VerdictFail},
		{Job: "l-1", Task: "a", Index: 2, Attempt: 0, State: job.AttemptFailed, ExitCode: &code, Verdict: job.VerdictAgain},
	}
	e := New(nil)
	e.Load([]*job.Job{j}, map[string][]job.Attempt{"l-1": as})
	ls := e.Plan(big())
	// a has failed (instance 1): no more of a; b handles a's failure and
	// waits for a to end, which it has.
	if len(ls) != 1 || ls[0].Attempt.Task != "b" {
		t.Fatalf("after load: %+v", ls)
	}
	st := jobstatus.Derive(j, as)
	if st.Tasks[0].State != job.Failed || st.State != job.Running {
		t.Fatalf("derived %+v", st)
	}
}

func TestDeriveDAG(t *testing.T) {
	j := parsed(t, "x-1", `
name: x
params: {env: dev}
tasks:
- {name: a, command: x, retries: 0}
- {name: b, command: x, depends: [a]}
- {name: c, command: x, depends: "a.failed"}
- {name: d, command: x, when: params.env == "prod"}
- {name: f, command: x, continueOn: true, retries: 0}
`)
	code := 1
	as := []job.Attempt{
		{Job: "x-1", Task: "a", State: job.AttemptFailed, ExitCode: &code, Verdict: job.VerdictFail},
		{Job: "x-1", Task: "c", State: job.AttemptSucceeded, Verdict: job.VerdictDone},
		{Job: "x-1", Task: "f", State: job.AttemptFailed, ExitCode: &code, Verdict: job.VerdictFail},
	}
	st := jobstatus.Derive(j, as)
	want := map[string]job.State{"a": job.Failed, "b": job.Skipped, "c": job.Succeeded, "d": job.Skipped, "f": job.Failed}
	for _, ts := range st.Tasks {
		if ts.State != want[ts.Name] {
			t.Errorf("task %s: %s, want %s (%s)", ts.Name, ts.State, want[ts.Name], ts.Reason)
		}
	}
	if st.State != job.Failed {
		t.Errorf("job %s, want failed (a failed)", st.State)
	}
	j.Spec.Tasks[0].ContinueOn = true
	if st := jobstatus.Derive(j, append(as, job.Attempt{Job: "x-1", Task: "b", State: job.AttemptSucceeded, Verdict: job.VerdictDone})); st.State != job.Succeeded {
		t.Errorf("with a continueOn: job %s, want succeeded", st.State)
	}
	j.Suspended = true
	if st := jobstatus.Derive(j, as[:1]); st.State != job.Suspended {
		t.Errorf("suspended: %s", st.State)
	}
}

func TestRetryFailedPart(t *testing.T) {
	j := parsed(t, "rt-1", `{name: rt, tasks: [{name: a, command: x, instances: 2, retries: 0}, {name: b, command: x, depends: [a], retries: 0}]}`)
	code := 1
	as := []job.Attempt{
		{Job: "rt-1", Task: "a", Index: 0, State: job.AttemptSucceeded, Verdict: job.VerdictDone, Created: time.Unix(1001, 0)},
		{Job: "rt-1", Task: "a", Index: 1, State: job.AttemptFailed, ExitCode: &code, Verdict: job.VerdictFail, Created: time.Unix(1001, 0)},
	}
	if st := jobstatus.Derive(j, as); st.State != job.Failed || st.Tasks[1].State != job.Skipped {
		t.Fatalf("before retry: %+v", st)
	}
	j.RetriedAt = time.Unix(2000, 0)
	if st := jobstatus.Derive(j, as); st.State != job.Running || st.Tasks[0].Counts.Pending+st.Tasks[0].Counts.Retrying != 1 || st.Tasks[1].State != job.Pending {
		t.Fatalf("after retry: %+v", st)
	}
	e := New(nil)
	e.Retry(j, as)
	e.Tick()
	ls := e.Plan(big())
	if len(ls) != 1 || ls[0].Attempt.TaskID() != "rt-1.a.1.1" {
		t.Fatalf("retry launched %+v", ls)
	}
	end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FINISHED, 0)
	if ls = e.Plan(big()); len(ls) != 1 || ls[0].Attempt.Task != "b" {
		t.Fatalf("then b: %+v", ls)
	}
	// With upstream: every instance of a runs again.
	j.Rerun = []string{"a"}
	e = New(nil)
	e.Retry(j, as)
	e.Tick()
	if ls = e.Plan(big()); len(ls) != 2 {
		t.Fatalf("upstream rerun launched %d", len(ls))
	}
}

// An attempt killed by a suspend keeps Gleaner's reason (Mesos' goes to
// the message), so a new leader replays it as free, not as a failure.
func TestSuspendKillReplaysFree(t *testing.T) {
	j := parsed(t, "sk-1", `{name: sk, tasks: [{name: a, command: x, retries: 1}]}`)
	e := New(nil)
	e.AddJob(j)
	ls := e.Plan(big())
	e.Suspend("sk-1")
	apply(t, e, ls[0].Attempt.TaskID(), mesos.TASK_RUNNING)
	o := e.Observe(Status{TaskID: ls[0].Attempt.TaskID(), State: mesos.TASK_KILLED, Reason: "REASON_EXECUTOR_TERMINATED"})
	a := *o.Attempt
	e.Commit(a)
	if a.Reason != ReasonSuspended || a.Verdict != job.VerdictAgain {
		t.Fatalf("attempt %+v", a)
	}
	// Issue 13: it reads as suspended, not as a lost attempt.
	if !strings.Contains(a.Message, "[suspended on request: not counted]") || strings.Contains(a.Message, "lost") {
		t.Fatalf("suspended attempt's message %q", a.Message)
	}
	j.Suspended = false
	e2 := New(nil)
	e2.Load([]*job.Job{j}, map[string][]job.Attempt{"sk-1": {a}})
	e2.Tick()
	ls = e2.Plan(big())
	if len(ls) != 1 {
		t.Fatalf("after failover: %+v", ls)
	}
	// The suspend used no retry: the first real failure is retried.
	if a := end(t, e2, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 1); a.Verdict != job.VerdictAgain {
		t.Fatalf("first real failure: %+v", a)
	}
}
