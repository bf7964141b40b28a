package engine

import (
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Status is a Mesos task status update reduced to what the engine needs.
type Status struct {
	TaskID   string
	State    mesos.TaskState
	AgentID  string
	Reason   string
	Message  string
	ExitCode *int
	// Signal is the terminating signal the Gleaner executor reported (0
	// if none).
	Signal int
	Time   time.Time
	// Outputs are the output parameters the Gleaner executor reported
	// (outputs.go).
	Outputs map[string]string
	// Artifacts are the output artifacts it uploaded (TaskResult.artifacts).
	Artifacts []job.ArtifactRef
}

// AttemptStateOf maps a Mesos task state to an attempt state. Every
// partition or unknown outcome is lost (requeued without using a retry).
func AttemptStateOf(s mesos.TaskState) job.AttemptState {
	switch s {
	case mesos.TASK_STAGING, mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_KILLING:
		return job.AttemptRunning
	case mesos.TASK_FINISHED:
		return job.AttemptSucceeded
	case mesos.TASK_FAILED, mesos.TASK_ERROR:
		return job.AttemptFailed
	case mesos.TASK_KILLED:
		return job.AttemptKilled
	default: // LOST, DROPPED, GONE, GONE_BY_OPERATOR, UNREACHABLE, UNKNOWN
		return job.AttemptLost
	}
}

// EndedForGood reports whether an attempt's record says its Mesos task is
// dead for good: it ended TASK_FINISHED, TASK_FAILED, TASK_KILLED or
// TASK_ERROR, states a Mesos task never leaves. A task that ended lost
// (LOST, DROPPED, GONE, UNREACHABLE, UNKNOWN...) may still show up running,
// and a record without a Mesos state (an attempt that ended before Mesos
// said anything of it) tells nothing.
func EndedForGood(a *job.Attempt) bool {
	if !a.State.Terminal() {
		return false
	}
	switch a.MesosState {
	case mesos.TASK_FINISHED.String(), mesos.TASK_FAILED.String(), mesos.TASK_KILLED.String(), mesos.TASK_ERROR.String():
		return true
	}
	return false
}

// Outcome is what to do about one status update.
type Outcome struct {
	// Attempt is the new record to store (then Commit); nil if unchanged.
	Attempt *job.Attempt
	// Kill asks to kill the task: Mesos reports it alive but Gleaner does
	// not expect it (an older attempt, a finished instance, a killed job).
	// For a task the engine does not hold, the caller first checks its
	// stored record: a task that EndedForGood is not alive, the update is a
	// stale copy (an agent resending what an earlier leader stored but did
	// not acknowledge, after a reconciliation reported the task's end).
	Kill bool
}

// Observe computes the effect of a status update without changing the
// engine: store Outcome.Attempt, then Commit it, then acknowledge.
func (e *Engine) Observe(s Status) Outcome {
	return e.ObserveAll([]Status{s})[0]
}

// ObserveAll observes a batch of updates in order without changing the
// engine; an update builds on an earlier one for the same task in the
// batch. Store the last Attempt per task, then Commit it.
func (e *Engine) ObserveAll(ss []Status) []Outcome {
	return e.DecideUpdates(ss).Outcomes
}

// Updates is what a batch of status updates decides, computed once by
// DecideUpdates without changing the engine. The framework stores Store,
// then ApplyUpdates, then releases Release's queue claims, kills Kill (a
// task the engine does not hold only if its stored record does not say it
// EndedForGood) and acknowledges the updates.
type Updates struct {
	// Outcomes has each update's outcome, in order.
	Outcomes []Outcome
	// Store is the last new record of each task, in the order the tasks
	// first appear in the batch.
	Store []job.Attempt
	// Kill lists the tasks to kill (task id → agent id).
	Kill map[string]string
	// Release lists the ended attempts of work-queue tasks among Store:
	// their claims are released once stored (items their worker did not
	// finish are handed out again at once).
	Release []job.Attempt
	// decided holds the retry decision of each ended record of Store (nil
	// for the others), applied by ApplyUpdates.
	decided []*retryDecision
}

// DecideUpdates observes a batch of updates in order without changing the
// engine (an update builds on an earlier one for the same task in the
// batch), deciding each ended attempt's retry once.
func (e *Engine) DecideUpdates(ss []Status) Updates {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Outcome, len(ss))
	type stagedRecord struct {
		a     *job.Attempt
		rd    *retryDecision
		queue bool
	}
	staged := map[string]*stagedRecord{}
	var order []string
	for i, s := range ss {
		ns := AttemptStateOf(s.State)
		in := e.active[s.TaskID]
		if in == nil {
			out[i] = Outcome{Kill: !ns.Terminal()}
			continue
		}
		var base *job.Attempt
		st := staged[s.TaskID]
		if st != nil {
			base = st.a
		} else {
			rec := in.activeRecord()
			base = &rec
		}
		killWanted := ns == job.AttemptRunning && in.task.js.job.KillRequested
		if base.State.Terminal() {
			// Already ended earlier in this batch: alive again only if
			// it ended lost.
			out[i] = Outcome{Kill: !ns.Terminal() && !EndedForGood(base)}
			continue
		}
		a := *base
		changed := a.State != ns
		if s.AgentID != "" && a.AgentID != s.AgentID {
			a.AgentID, changed = s.AgentID, true
		}
		if !changed {
			out[i] = Outcome{Kill: killWanted}
			continue
		}
		a.State = ns
		a.MesosState = s.State.String()
		a.Reason, a.Message = s.Reason, s.Message
		if why := in.requeueReason(); why != "" && (ns == job.AttemptKilled || ns == job.AttemptFailed) {
			// Killed by Gleaner to move or preempt it: not a failure.
			a.State, a.Reason = job.AttemptLost, why
			a.Message = strings.TrimSpace(in.requeueDetail() + " " + s.Reason + " " + s.Message)
		}
		t := s.Time
		if t.IsZero() {
			t = e.now()
		}
		if ns == job.AttemptRunning && a.Started.IsZero() {
			a.Started = t
		}
		var rd *retryDecision
		if ns.Terminal() {
			a.Ended = t
			if s.ExitCode != nil {
				c := *s.ExitCode
				a.ExitCode = &c
			}
			a.Signal = s.Signal
			if ns == job.AttemptSucceeded {
				a.Outputs = s.Outputs
				a.Artifacts = s.Artifacts
			}
			rd = e.decide(in, &a)
		}
		if st == nil {
			order = append(order, s.TaskID)
		}
		staged[s.TaskID] = &stagedRecord{a: &a, rd: rd, queue: in.task.spec.WorkQueue != nil}
		out[i] = Outcome{Attempt: &a, Kill: killWanted}
	}
	u := Updates{Outcomes: out}
	if len(order) > 0 {
		u.Store = make([]job.Attempt, len(order))
		u.decided = make([]*retryDecision, len(order))
		for k, id := range order {
			st := staged[id]
			u.Store[k], u.decided[k] = *st.a, st.rd
			if st.queue && st.a.State.Terminal() {
				u.Release = append(u.Release, *st.a)
			}
		}
	}
	for i := range out {
		if out[i].Kill {
			if u.Kill == nil {
				u.Kill = map[string]string{}
			}
			u.Kill[ss[i].TaskID] = ss[i].AgentID
		}
	}
	return u
}

// ApplyUpdates commits the stored records of u (Store) with the retry
// decisions made when they were observed. It reports whether new work may
// have become runnable, the cue to REVIVE offers.
func (e *Engine) ApplyUpdates(u *Updates) (moreWork bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range u.Store {
		var rd *retryDecision
		if k < len(u.decided) {
			rd = u.decided[k]
		}
		if e.commitLocked(u.Store[k], rd) {
			moreWork = true
		}
	}
	return moreWork
}

// Commit applies a stored attempt record. It reports whether new work may
// have become runnable (an instance requeued or a task completed), the cue
// to REVIVE offers.
func (e *Engine) Commit(a job.Attempt) (moreWork bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.commitLocked(a, nil)
}

// commitLocked is Commit with the retry decision made when the record was
// observed (nil: decided now).
func (e *Engine) commitLocked(a job.Attempt, rd *retryDecision) (moreWork bool) {
	id := a.TaskID()
	in := e.active[id]
	if in == nil {
		return false
	}
	if !a.State.Terminal() {
		in.setActive(&a)
		return false
	}
	c := a
	in.setLast(&c)
	delete(e.active, id)
	t, js := in.task, in.task.js
	js.recordOutputsLocked(t, &c)
	if tr, ok := e.matcher.(Tracker); ok {
		tr.Stopped(a.Job, a.Task, in.last.Hostname)
	}
	t.active--
	if a.Verdict != "" {
		moreWork = e.commitVerdict(in, &c, rd)
		if js.finished() {
			e.removeLocked(js.job.ID)
		}
		return moreWork
	}
	killed := js.job.KillRequested
	switch a.State {
	case job.AttemptSucceeded:
		in.done = true
		t.succeeded++
		moreWork = t.complete()
	case job.AttemptFailed, job.AttemptKilled:
		in.failures++
		switch {
		case in.failures > t.spec.Retries:
			in.done = true
			t.failed++
		case !killed:
			t.requeue = append(t.requeue, in.index)
			moreWork = true
		}
	case job.AttemptLost:
		if !killed {
			t.requeue = append(t.requeue, in.index)
			moreWork = true
		}
	}
	if js.finished() {
		e.removeLocked(js.job.ID)
	}
	return moreWork
}

// Kill marks a job killed: nothing more is launched, and the returned
// running attempts (task id → agent id) are to be killed.
func (e *Engine) Kill(jobID string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	js := e.jobs[jobID]
	if js == nil {
		return nil
	}
	js.job.KillRequested = true
	out := map[string]string{}
	for id, in := range e.active {
		if in.task.js == js {
			out[id] = in.activeAgentID()
		}
	}
	if js.finished() {
		e.removeLocked(jobID)
	}
	return out
}

// Requeue marks active attempts (task id → reason, e.g. "preempted") to
// end lost, requeued without using a retry, and returns those found (task
// id → agent id) for the caller to kill.
func (e *Engine) Requeue(reasons map[string]string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(reasons))
	for id, why := range reasons {
		if in := e.active[id]; in != nil {
			in.more().requeue = why
			in.trimExtra()
			out[id] = in.activeAgentID()
		}
	}
	return out
}

// Active returns every launching or running attempt (task id → agent id),
// for explicit reconciliation.
func (e *Engine) Active() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.active))
	for id, in := range e.active {
		out[id] = in.activeAgentID()
	}
	return out
}

// IsActive reports whether an attempt is launching or running.
func (e *Engine) IsActive(taskID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.active[taskID] != nil
}

// ActiveOnWorkQueues lists the active attempts of work-queue tasks (task
// ids), whose queue claims are kept alive while they run.
func (e *Engine) ActiveOnWorkQueues() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for id, in := range e.active {
		if in.task.spec.WorkQueue != nil {
			out = append(out, id)
		}
	}
	return out
}

// MarkSent records that the ACCEPT carrying these attempts has returned
// (successfully or not): from now on they may be reconciled.
func (e *Engine) MarkSent(taskIDs []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range taskIDs {
		if in := e.active[id]; in != nil {
			in.sent = true
			in.dropPrev()
		}
	}
}

// Reconcilable returns the active attempts (task id → agent id) whose
// launch call has completed. An attempt whose ACCEPT is still in flight is
// left out: the master could answer "unknown" before it sees the launch.
func (e *Engine) Reconcilable() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.active))
	for id, in := range e.active {
		if in.sent {
			out[id] = in.activeAgentID()
		}
	}
	return out
}

// ActiveAttempt returns a copy of an active attempt's record.
func (e *Engine) ActiveAttempt(taskID string) (job.Attempt, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.active[taskID]
	if in == nil {
		return job.Attempt{}, false
	}
	return in.activeRecord(), true
}

// Jobs lists the ids of unfinished jobs in FIFO order.
func (e *Engine) Jobs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.order...)
}
