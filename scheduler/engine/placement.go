package engine

import (
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Explainer is implemented by matchers that know when a task's pending
// instances can never be placed on the agents known so far, so the
// framework need not keep reviving offers for them.
type Explainer interface {
	Forever(jobID, task string) bool
}

// RunningInstance is an active attempt as preemption and constraint moves
// see it.
type RunningInstance struct {
	TaskID      string
	AgentID     string
	Hostname    string
	Job         string
	Task        string
	Priority    int
	User, Queue string
	Resources   job.Resources
	Constraints [][]string
	Started     time.Time // zero while launching
	// Requeuing: already being killed to move or preempt it.
	Requeuing bool
}

// ActiveInstances lists every launching or running attempt.
func (e *Engine) ActiveInstances() []RunningInstance {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]RunningInstance, 0, len(e.active))
	for id, in := range e.active {
		sp := in.task.js.job.Spec
		jobID, task := in.activeJobTask()
		out = append(out, RunningInstance{TaskID: id, AgentID: in.activeAgentID(), Hostname: in.activeHostname(), Job: jobID, Task: task,
			Priority: sp.Priority, User: sp.User, Queue: sp.Queue, Resources: in.task.spec.Resources,
			Constraints: in.task.spec.Constraints, Started: in.activeStarted(), Requeuing: in.requeueReason() != ""})
	}
	return out
}

// Pending lists the runnable pending work, as Plan would hand it to the
// matcher.
func (e *Engine) Pending() []Demand {
	e.mu.Lock()
	defer e.mu.Unlock()
	ds, _ := e.demandsLocked()
	return ds
}

// HasPlaceable reports whether some runnable pending work might be placed:
// work the matcher (an Explainer) knows can never fit does not count.
func (e *Engine) HasPlaceable() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	ds, _ := e.demandsLocked()
	return e.placeableLocked(ds)
}

// placeableLocked is HasPlaceable on demands already built.
func (e *Engine) placeableLocked(ds []Demand) bool {
	x, ok := e.matcher.(Explainer)
	if !ok {
		return len(ds) > 0
	}
	for _, d := range ds {
		if !x.Forever(d.Job, d.Task) {
			return true
		}
	}
	return false
}
