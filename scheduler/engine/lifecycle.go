package engine

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/dag"
	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/retry"
)

// The batch model in the engine: retry decisions (scheduler/retry) with
// backoff, DAG readiness and skips (scheduler/dag), parallelism and
// completions, timeouts and deadlines, failJob and suspend.

// Kill reasons Gleaner records on attempts it kills itself.
const (
	ReasonTimeout   = "timeout"
	ReasonFailJob   = "failJob"
	ReasonDeadline  = "deadline exceeded"
	ReasonSuspended = "suspended"
)

// batchTask is a task's batch-model state.
type batchTask struct {
	policy  retry.Policy
	delayed []delayed // instances waiting out a backoff, by time
	skipped string    // why the DAG skipped the task; "" if not
	// repeat is the task's repeat condition, nil if none (outputs.go).
	repeat *dag.RepeatCond
}

type delayed struct {
	index int
	at    time.Time
}

// batchJob is a job's batch-model state.
type batchJob struct {
	graph *dag.Graph // nil: list dependencies only
	// failing says why the job fails now (a failJob rule), "" if not.
	failing string
	dirty   bool // task outcomes changed: evaluate the DAG again
	// outputs of the succeeded instances (outputs.go)
	outputs dag.Outputs
}

func (e *Engine) initBatch(js *jobState) {
	if g, err := dag.FromSpec(&js.job.Spec); err == nil {
		js.b.graph = g
	}
	js.b.dirty = true
	for _, t := range js.tasks {
		t.b.policy = retry.PolicyOf(t.spec)
		t.b.repeat = repeatOf(js, t)
	}
}

// outcome classifies an ended attempt, honouring why Gleaner killed it.
func (in *instState) outcome(a *job.Attempt) retry.Outcome {
	killed := a.State == job.AttemptKilled || a.State == job.AttemptFailed
	switch kill := in.killReason(); {
	case kill == ReasonTimeout && killed:
		return retry.Outcome{Kind: retry.TimedOut}
	case kill == ReasonSuspended && killed:
		return retry.Outcome{Kind: retry.Suspended}
	case kill != "" && killed:
		return retry.Outcome{Kind: retry.Killed}
	}
	return retry.FromAttempt(a, in.task.js.job.KillRequested, a.Signal)
}

// retryDecision is the retry policy's decision on an ended attempt, made
// once when the update is observed and applied as is when the stored
// record is committed.
type retryDecision struct {
	in       *instState // the instance and launch it was made for
	launch   uint32
	outcome  retry.Outcome
	decision retry.Decision
}

// decide records the retry decision on an ended attempt (verdict, not
// before, the decision's reason in the message) and returns it.
func (e *Engine) decide(in *instState, a *job.Attempt) *retryDecision {
	o := in.outcome(a)
	d := in.task.b.policy.Decide(o, in.hist)
	rd := &retryDecision{in: in, launch: in.launches, outcome: o, decision: d}
	repeatVerdict(in, a, &d)
	if in.task.js.job.KillRequested && d.Verdict == retry.Again {
		d.Verdict, d.Reason = retry.Stop, "job killed"
	}
	if kill := in.killReason(); kill != "" && (a.State == job.AttemptKilled || a.State == job.AttemptFailed) {
		// Gleaner's reason for the kill decides the outcome on replay
		// after a failover too; Mesos' reason goes to the message.
		if a.Reason != "" && a.Reason != kill {
			a.Message = strings.TrimSpace(a.Reason + " " + a.Message)
		}
		a.Reason = kill
	}
	a.Verdict = string(d.Verdict)
	if d.Verdict == retry.Again && d.Delay > 0 {
		a.NotBefore = a.Ended.Add(d.Delay)
	}
	if d.Reason != "" {
		a.Message = strings.TrimSpace(a.Message + " [" + d.Reason + "]")
	}
	return rd
}

// prune forgets finished instances: only the task's counts remember them,
// so a huge task costs memory for its unfinished instances only.
func (t *taskState) prune() {
	for i, in := range t.inst {
		if in.done {
			delete(t.inst, i)
		}
	}
}

// commitVerdict applies an ended attempt's recorded verdict, with the
// retry decision made when it was observed (rd; made again if nil, for a
// record committed without DecideUpdates); it reports whether new work
// may be runnable now.
func (e *Engine) commitVerdict(in *instState, a *job.Attempt, rd *retryDecision) bool {
	more := e.commitVerdictLocked(in, a, rd)
	if in.done {
		delete(in.task.inst, in.index)
	}
	return more
}

func (e *Engine) commitVerdictLocked(in *instState, a *job.Attempt, rd *retryDecision) bool {
	t, js := in.task, in.task.js
	if rd == nil || rd.in != in || rd.launch != in.launches {
		o := in.outcome(a)
		rd = &retryDecision{in: in, launch: in.launches, outcome: o, decision: t.b.policy.Decide(o, in.hist)}
	}
	o, d := rd.outcome, rd.decision
	in.hist = in.hist.After(o, d)
	js.b.dirty = true
	e.preferAgent(in, a, d.SameAgent && a.Verdict == job.VerdictAgain)
	switch a.Verdict {
	case job.VerdictDone:
		in.done = true
		t.succeeded++
		// A freed parallelism slot is new work too.
		return t.complete() || t.pending() > 0
	case job.VerdictFail:
		in.done = true
		t.failed++
		return true // dependents may be decided now
	case job.VerdictFailJob:
		in.done = true
		t.failed++
		if js.b.failing == "" {
			js.b.failing = fmt.Sprintf("task %s instance %d: %s", t.spec.Name, in.index, a.Message)
		}
		return true
	case job.VerdictStop:
		in.done = true
		return false
	}
	// Again.
	if js.job.KillRequested {
		in.done = true
		return false
	}
	if a.NotBefore.After(e.now()) {
		t.b.delayed = append(t.b.delayed, delayed{index: in.index, at: a.NotBefore})
		return false
	}
	t.requeue = append(t.requeue, in.index)
	return true
}

// loadVerdict restores an instance from its last ended attempt when the
// attempt carries a verdict (Load); it reports false for older records.
func (t *taskState) loadVerdict(js *jobState, in *instState, killRequested bool) bool {
	a := in.last
	switch a.Verdict {
	case "":
		return false
	case job.VerdictDone:
		in.done = true
		t.succeeded++
		js.recordOutputsLocked(t, a)
	case job.VerdictFail:
		in.done = true
		t.failed++
	case job.VerdictFailJob:
		in.done = true
		t.failed++
		js.b.failing = fmt.Sprintf("task %s instance %d: %s", t.spec.Name, in.index, a.Message)
	case job.VerdictStop:
		in.done = true
	default:
		if killRequested {
			in.done = true
		} else {
			t.b.delayed = append(t.b.delayed, delayed{index: in.index, at: a.NotBefore})
		}
	}
	return true
}

// replayHistory rebuilds an instance's retry history from its ended
// attempts (Load).
func replayHistory(p retry.Policy, as []job.Attempt, killRequested bool, since time.Time) retry.History {
	sort.Slice(as, func(i, j int) bool { return as[i].Attempt < as[j].Attempt })
	var h retry.History
	for i := range as {
		if !as[i].State.Terminal() || as[i].Created.Before(since) {
			continue // running, or before a retry of the job: a fresh budget
		}
		o := storedOutcome(&as[i], killRequested)
		h = h.After(o, p.Decide(o, h))
	}
	return h
}

// storedOutcome is the retry outcome of a stored ended attempt; Gleaner's
// own kill reasons decide it (replayed the same way by a new leader).
func storedOutcome(a *job.Attempt, killRequested bool) retry.Outcome {
	switch a.Reason {
	case ReasonTimeout:
		return retry.Outcome{Kind: retry.TimedOut}
	case ReasonSuspended:
		return retry.Outcome{Kind: retry.Suspended}
	case ReasonFailJob, ReasonDeadline:
		return retry.Outcome{Kind: retry.Killed}
	}
	return retry.FromAttempt(a, killRequested, a.Signal)
}

// dagState is a task's state as the DAG sees it, from the engine's counts.
func (js *jobState) dagState(t *taskState) dag.State {
	switch {
	case t.b.skipped != "":
		return dag.Skipped
	case t.active > 0:
		return dag.Running
	case t.complete():
		return dag.Succeeded
	case t.failedForGood():
		return dag.Failed
	case js.job.KillRequested || js.b.failing != "":
		return dag.Killed
	case t.succeeded > 0 || t.next > 0:
		return dag.Running
	}
	return dag.Pending
}

// evaluate runs the DAG when task outcomes changed: tasks that can never
// run are marked skipped.
func (js *jobState) evaluate() {
	if !js.b.dirty {
		return
	}
	js.b.dirty = false
	if js.b.graph == nil {
		return
	}
	for {
		states := make(map[string]dag.State, len(js.tasks))
		for _, t := range js.tasks {
			states[t.spec.Name] = js.dagState(t)
		}
		ds, err := js.b.graph.Evaluate(states, js.job.Spec.Params, dag.Options{FailFast: js.job.Spec.FailFast, Outputs: &js.b.outputs, CheckFanOut: expand.CheckFanOut})
		if err != nil {
			return
		}
		changed := false
		for _, t := range js.tasks {
			if d := ds[t.spec.Name]; d.Verdict == dag.Skip && t.b.skipped == "" {
				t.b.skipped, changed = d.Reason, true
			}
		}
		if !changed {
			return
		}
	}
}

// ready reports whether t may launch instances now: the DAG says so (or
// it has started already), it is not failing, not skipped.
func (js *jobState) ready(t *taskState) bool {
	if t.b.skipped != "" || t.failedForGood() || js.job.Suspended || js.b.failing != "" || js.job.KillRequested {
		return false
	}
	if js.b.graph == nil {
		return js.runnable(t)
	}
	if t.next > 0 || t.active > 0 || t.succeeded > 0 {
		return true
	}
	states := make(map[string]dag.State, len(js.tasks))
	for _, o := range js.tasks {
		states[o.spec.Name] = js.dagState(o)
	}
	ds, err := js.b.graph.Evaluate(states, js.job.Spec.Params, dag.Options{FailFast: js.job.Spec.FailFast, Outputs: &js.b.outputs, CheckFanOut: expand.CheckFanOut})
	if err != nil || ds[t.spec.Name].Verdict != dag.Ready {
		return false
	}
	return js.fanOutLocked(t) // fanout.go
}

// capacity is how many more instances of t may start now: pending ones,
// within parallelism and the successes still needed.
func (t *taskState) capacity() int {
	if t.doomed() {
		return 0 // hardening.go
	}
	n := t.pending()
	if p := t.spec.Parallelism; p > 0 && p-t.active < n {
		n = p - t.active
	}
	if q := t.spec.WorkQueue; q != nil && q.Pattern == job.QueueWorkers {
		// Workers all start; once one succeeded (the queue is drained)
		// no new one does.
		if t.succeeded > 0 {
			n = 0
		}
	} else if need := t.spec.Needed() - t.succeeded - t.active; need < n {
		n = need
	}
	if t.b.policy.Restart == retry.Always && t.spec.Instances-t.active < n {
		n = t.spec.Instances - t.active
	}
	if n < 0 {
		return 0
	}
	return n
}

// ended reports whether the task changes no more.
func (js *jobState) taskEnded(t *taskState) bool {
	if t.active > 0 {
		return false
	}
	switch js.dagState(t) {
	case dag.Succeeded, dag.Failed, dag.Killed, dag.Skipped:
		return true
	}
	return false
}

// batchFinished reports whether nothing of the job will run any more.
func (js *jobState) batchFinished() bool {
	if js.activeCount() > 0 {
		return false
	}
	if js.job.KillRequested || js.b.failing != "" {
		return true
	}
	js.evaluate()
	for _, t := range js.tasks {
		if !js.taskEnded(t) {
			return false
		}
	}
	return true
}

// TickResult is what Tick found to do.
type TickResult struct {
	// Revive: instances whose backoff ended are runnable again.
	Revive bool
	// Kill lists attempts to kill (task id → agent id): timed out, or of a
	// job failing by a failJob rule.
	Kill map[string]string
	// Deadline lists jobs whose deadline passed: kill them with
	// ReasonDeadline (the caller stores the kill first).
	Deadline []string
	// Next is when Tick has something to do again (zero: nothing known).
	Next time.Time
}

// Tick handles time: backoffs that ended, attempts past their timeout,
// jobs past their deadline, jobs failing by a failJob rule.
func (e *Engine) Tick() TickResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	r := TickResult{Kill: map[string]string{}}
	next := func(t time.Time) {
		if r.Next.IsZero() || t.Before(r.Next) {
			r.Next = t
		}
	}
	for _, id := range e.order {
		js := e.jobs[id]
		if d := time.Duration(js.job.Spec.Deadline); d > 0 && !js.job.KillRequested {
			if at := js.job.Submitted.Add(d); !now.Before(at) {
				r.Deadline = append(r.Deadline, id)
			} else {
				next(at)
			}
		}
		for _, t := range js.tasks {
			keep := t.b.delayed[:0]
			for _, dl := range t.b.delayed {
				if !dl.at.After(now) {
					t.requeue = append(t.requeue, dl.index)
					r.Revive = true
				} else {
					keep = append(keep, dl)
					next(dl.at)
				}
			}
			t.b.delayed = keep
		}
	}
	watched := e.tickWatchedLocked(now, next)
	if len(watched) == 0 {
		return r
	}
	// The earliest deadline not yet reached, per task watched for timeouts.
	var earliest map[*taskState]time.Time
	for tid, in := range e.active {
		due, ok := watched[in.task]
		switch {
		case !ok || in.killReason() != "":
		case due == killFailingJob:
			in.more().kill = ReasonFailJob
			r.Kill[tid] = in.activeAgentID()
		case due == killDoomedTask:
			in.more().kill = ReasonTaskFailed
			r.Kill[tid] = in.activeAgentID()
		default: // timeout
			start := in.activeStarted()
			if start.IsZero() {
				continue // not running yet: the timeout bounds the run
			}
			at := start.Add(time.Duration(in.task.spec.Timeout))
			if !now.Before(at) {
				in.more().kill = ReasonTimeout
				r.Kill[tid] = in.activeAgentID()
				continue
			}
			if earliest == nil {
				earliest = map[*taskState]time.Time{}
			}
			if first, ok := earliest[in.task]; !ok || at.Before(first) {
				earliest[in.task] = at
			}
		}
	}
	// An attempt of a task watched for timeouts that starts later is due
	// a timeout later than now (setActive brings the check forward for a
	// start reported late).
	for t, w := range watched {
		if w != watchTimeout {
			continue
		}
		t.timeoutCheck = now.Add(time.Duration(t.spec.Timeout))
		if at, ok := earliest[t]; ok && at.Before(t.timeoutCheck) {
			t.timeoutCheck = at
		}
		next(t.timeoutCheck)
	}
	return r
}

// tickWatch is what Tick looks for in a task's active attempts.
type tickWatch int

const (
	killFailingJob tickWatch = iota // the job is failing (failJob): kill them all
	killDoomedTask                  // the task failed for good: kill them all
	watchTimeout                    // the task has a timeout: kill those past it
)

// tickWatchedLocked lists the tasks with active attempts Tick must look
// at; the others' attempts are not due anything, and are not looked at (at
// 100,000 running, looking at each of them five times a second was most of
// an idle scheduler's CPU, with the engine locked meanwhile). A task with
// a timeout is looked at from its timeoutCheck on; until then next is told
// of that time.
func (e *Engine) tickWatchedLocked(now time.Time, next func(time.Time)) map[*taskState]tickWatch {
	var watched map[*taskState]tickWatch
	watch := func(t *taskState, w tickWatch) {
		if watched == nil {
			watched = map[*taskState]tickWatch{}
		}
		watched[t] = w
	}
	for _, js := range e.jobs {
		for _, t := range js.tasks {
			switch {
			case t.active == 0:
			case js.b.failing != "":
				watch(t, killFailingJob)
			case t.doomed():
				watch(t, killDoomedTask)
			case t.spec.Timeout > 0 && now.Before(t.timeoutCheck):
				next(t.timeoutCheck)
			case t.spec.Timeout > 0:
				watch(t, watchTimeout)
			}
		}
	}
	return watched
}

// KillWithReason kills a job like Kill, recording why (e.g. the deadline)
// on the job and on its killed attempts.
func (e *Engine) KillWithReason(jobID, reason string) map[string]string {
	e.mu.Lock()
	js := e.jobs[jobID]
	if js != nil {
		js.job.KillReason = reason
		for _, in := range e.active {
			if in.task.js == js && in.killReason() == "" {
				in.more().kill = reason
			}
		}
	}
	e.mu.Unlock()
	return e.Kill(jobID)
}

// Suspend stops launching the job's instances and returns its running
// attempts to kill; they end lost and run again after Resume, using no
// retry.
func (e *Engine) Suspend(jobID string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	js := e.jobs[jobID]
	if js == nil {
		return nil
	}
	js.job.Suspended = true
	out := map[string]string{}
	for id, in := range e.active {
		if in.task.js == js {
			in.more().kill = ReasonSuspended
			out[id] = in.activeAgentID()
		}
	}
	return out
}

// Resume lets a suspended job launch again.
func (e *Engine) Resume(jobID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if js := e.jobs[jobID]; js != nil {
		js.job.Suspended = false
		js.b.dirty = true
	}
}

// Retry adds a finished job back after its RetriedAt (and Rerun) were
// stored: its failed part runs again.
func (e *Engine) Retry(j *job.Job, attempts []job.Attempt) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.jobs[j.ID]; ok {
		return
	}
	e.loadJobLocked(j, attempts)
}
