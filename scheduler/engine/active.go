package engine

import (
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// activeAttempt is the record of a launching or running attempt held as
// what the engine reads while it is active, instead of a whole job.Attempt
// (most of whose fields are empty until it ends): tens of thousands of
// attempts can be active at once. Its job, task and index are the
// instance's; its Reason and Message, rarely set while it runs, are in
// instExtra (runReason, runMessage). An active record with any other
// field set is held whole in instState.last instead (compactAttempt).
type activeAttempt struct {
	// agentID and hostname are shared with the offer it was launched on
	// (or the status update that changed them), not copied.
	agentID  string
	hostname string
	created  time.Time
	started  time.Time // zero while launching
	attempt  int
	// mesosState is the last Mesos state seen, valid if hasMesosState
	// (none while launching); its name is the record's MesosState.
	mesosState    mesos.TaskState
	hasMesosState bool
	running       bool // job.AttemptRunning, else job.AttemptLaunching
}

// compactAttempt returns a as an activeAttempt of in, or nil when a
// carries something an activeAttempt does not hold (an ended attempt, or a
// stored active record with e.g. an exit code or a verdict).
func compactAttempt(in *instState, a *job.Attempt) *activeAttempt {
	if a.State != job.AttemptLaunching && a.State != job.AttemptRunning {
		return nil
	}
	if a.Job != in.task.js.job.ID || a.Task != in.task.spec.Name || a.Index != in.index {
		return nil
	}
	if a.ExitCode != nil || !a.Ended.IsZero() || a.Verdict != "" || !a.NotBefore.IsZero() || a.Signal != 0 ||
		a.Outputs != nil || a.Artifacts != nil {
		return nil
	}
	r := &activeAttempt{agentID: a.AgentID, hostname: a.Hostname, created: a.Created, started: a.Started,
		attempt: a.Attempt, running: a.State == job.AttemptRunning}
	if a.MesosState != "" {
		v, ok := mesos.TaskState_value[a.MesosState]
		if !ok || mesos.TaskState(v).String() != a.MesosState {
			return nil
		}
		r.mesosState, r.hasMesosState = mesos.TaskState(v), true
	}
	return r
}

// setActive makes a, a launching or running record, in's active attempt's
// record: compact when it can be, else whole.
func (in *instState) setActive(a *job.Attempt) {
	if t := in.task; t.spec.Timeout > 0 && !a.Started.IsZero() {
		// A start reported late (its update waited) may fall due before
		// the task's next check.
		if due := a.Started.Add(time.Duration(t.spec.Timeout)); !t.timeoutCheck.IsZero() && due.Before(t.timeoutCheck) {
			t.timeoutCheck = due
		}
	}
	if r := compactAttempt(in, a); r != nil {
		in.run, in.last = r, nil
		if in.extra != nil || a.Reason != "" || a.Message != "" {
			x := in.more()
			x.runReason, x.runMessage = a.Reason, a.Message
			in.trimExtra()
		}
		return
	}
	c := *a
	in.run, in.last = nil, &c
	in.clearRunNote()
}

// setLast makes a (an ended attempt, or the previous one restored by
// Forget; nil for none) in's last attempt's record, held whole.
func (in *instState) setLast(a *job.Attempt) {
	in.run, in.last = nil, a
	in.clearRunNote()
}

// clearRunNote drops the active record's Reason and Message.
func (in *instState) clearRunNote() {
	if x := in.extra; x != nil && (x.runReason != "" || x.runMessage != "") {
		x.runReason, x.runMessage = "", ""
		in.trimExtra()
	}
}

// activeRecord returns in's active attempt's record as a job.Attempt.
func (in *instState) activeRecord() job.Attempt {
	r := in.run
	if r == nil {
		return *in.last
	}
	a := job.Attempt{Job: in.task.js.job.ID, Task: in.task.spec.Name, Index: in.index, Attempt: r.attempt,
		State: job.AttemptLaunching, AgentID: r.agentID, Hostname: r.hostname, Created: r.created, Started: r.started}
	if r.running {
		a.State = job.AttemptRunning
	}
	if r.hasMesosState {
		a.MesosState = r.mesosState.String()
	}
	if x := in.extra; x != nil {
		a.Reason, a.Message = x.runReason, x.runMessage
	}
	return a
}

// activeAgentID is the agent of in's active attempt.
func (in *instState) activeAgentID() string {
	if in.run != nil {
		return in.run.agentID
	}
	return in.last.AgentID
}

// activeHostname is the hostname of in's active attempt.
func (in *instState) activeHostname() string {
	if in.run != nil {
		return in.run.hostname
	}
	return in.last.Hostname
}

// activeStarted is when in's active attempt started running (zero while
// launching).
func (in *instState) activeStarted() time.Time {
	if in.run != nil {
		return in.run.started
	}
	return in.last.Started
}

// activeJobTask is the job and task of in's active attempt.
func (in *instState) activeJobTask() (jobID, task string) {
	if in.run != nil {
		return in.task.js.job.ID, in.task.spec.Name
	}
	return in.last.Job, in.last.Task
}
