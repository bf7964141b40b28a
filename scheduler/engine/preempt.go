package engine

import (
	"time"

	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// The matcher's optional capabilities, each reached through the engine
// and under its lock, so none runs while Plan matches (placement/matcher
// has all of them; FirstFit none).
type (
	// AgentObserver learns the agents behind offers, placeable work or not.
	AgentObserver interface {
		// Observe reports whether the agent is new or its attributes
		// changed (work judged never to fit may fit now).
		Observe(o *Offer) (changed bool)
	}
	// NeverFitsJudge forgets its "can never fit" verdicts on request.
	NeverFitsJudge interface{ ResetForever() }
	// Preempter plans preemptions for work blocked too long.
	Preempter interface {
		// Blocked reports whether some work has been blocked for at
		// least after, and the highest priority of such work: only
		// instances of lower priority can be victims.
		Blocked(now time.Time, after time.Duration) (priority int, ok bool)
		PlanPreemption(now time.Time, after time.Duration, running []placement.Victim) (Preemption, bool)
	}
)

// Preemption is a plan to kill Victims so that the blocked task's instance
// fits on Hostname.
type Preemption struct {
	placement.Preemption
	Job, Task string
	Priority  int
}

// GroupOf is the placement group of a task's instances.
func GroupOf(jobID, task string) string { return jobID + "/" + task }

// ObserveOffer hands an offer's view to the matcher (AgentObserver) and
// reports whether work judged never to fit should be judged again.
func (e *Engine) ObserveOffer(o *Offer) bool {
	ob, ok := e.matcher.(AgentObserver)
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return ob.Observe(o)
}

// RejudgeNeverFits drops the matcher's "can never fit" verdicts (agents or
// attributes changed).
func (e *Engine) RejudgeNeverFits() {
	j, ok := e.matcher.(NeverFitsJudge)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	j.ResetForever()
}

// Preempt decides one preemption after an offer cycle: when higher-priority
// work has been blocked for at least after, the lower-priority running
// instances the matcher chooses are marked for requeue with reason (no
// retry used) and returned to kill (task id → agent id). One plan at a
// time: nothing is preempted while an earlier requeue is still dying, and
// attempts still launching are never victims.
func (e *Engine) Preempt(now time.Time, after time.Duration, reason string) (Preemption, map[string]string, bool) {
	if _, ok := e.matcher.(Preempter); !ok {
		return Preemption{}, nil, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.preemptLocked(now, after, reason)
}

// preemptLocked is Preempt under the engine lock.
func (e *Engine) preemptLocked(now time.Time, after time.Duration, reason string) (Preemption, map[string]string, bool) {
	p, ok := e.matcher.(Preempter)
	if !ok {
		return Preemption{}, nil, false
	}
	above, blocked := p.Blocked(now, after)
	if !blocked {
		return Preemption{}, nil, false
	}
	// Only running instances of lower priority than the blocked work
	// can make room: the others are not gathered (every offer cycle
	// passes here while equal-priority work waits).
	var victims []placement.Victim
	for id, in := range e.active {
		if in.requeueReason() != "" {
			return Preemption{}, nil, false
		}
		prio, started := in.task.js.job.Spec.Priority, in.activeStarted()
		if prio >= above || started.IsZero() {
			continue
		}
		jobID, task := in.activeJobTask()
		victims = append(victims, placement.Victim{Key: id, Group: GroupOf(jobID, task), Hostname: in.activeHostname(),
			Priority: prio, Resources: placement.Resources(in.task.spec.Resources), Started: started})
	}
	if len(victims) == 0 {
		return Preemption{}, nil, false
	}
	plan, ok := p.PlanPreemption(now, after, victims)
	if !ok {
		return Preemption{}, nil, false
	}
	kill := make(map[string]string, len(plan.Victims))
	for _, v := range plan.Victims {
		if in := e.active[v.Key]; in != nil {
			in.more().requeue = reason
			kill[v.Key] = in.activeAgentID()
		}
	}
	return plan, kill, true
}
