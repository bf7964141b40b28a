package engine

import (
	"slices"
	"time"
)

// CyclePolicy is the framework's configuration of an offer cycle.
type CyclePolicy struct {
	// Refuse filters declined offers while placeable work is left; Idle
	// when none is.
	Refuse, Idle time.Duration
	// PreemptAfter is how long higher-priority work must stay blocked
	// before lower-priority instances are preempted; PreemptReason is
	// recorded on the victims' attempts.
	PreemptAfter  time.Duration
	PreemptReason string
	// MaxLaunches bounds how many launches the cycle decides (0: no
	// bound): pending work in the engine's order up to the bound, the rest
	// stays pending (placeable: offers are declined for Refuse, not
	// suppressed). Retries held for their previous agent, which go first,
	// count against it but are not held back by it.
	MaxLaunches int
}

// Decision is everything one offer cycle decides, computed once under the
// engine lock; the framework only carries it out (store the launches'
// attempts, ACCEPT, DECLINE, KILL, SUPPRESS).
type Decision struct {
	// Launches holds each offer's launches, by offer index. The
	// instances count as launching until Forget or an update.
	Launches [][]Launch
	// Declines are the offers (indexes) that launch nothing; they are
	// refused for Refuse.
	Declines []int
	Refuse   time.Duration
	// Suppress: no placeable work is left (offers may be suppressed).
	Suppress bool
	// Preemption, when Preempt is non-empty, is the plan whose victims
	// (task id → agent id, already marked for requeue) are to be killed.
	Preemption Preemption
	Preempt    map[string]string
	// PendingBefore and PendingAfter count the runnable pending instances
	// before and after placement.
	PendingBefore, PendingAfter int

	policy CyclePolicy
}

// Count is the number of launches decided.
func (d *Decision) Count() int {
	n := 0
	for _, ls := range d.Launches {
		n += len(ls)
	}
	return n
}

// Cycle decides one offer cycle: it places pending work on the offers
// (Plan), then decides which offers are declined and for how long, whether
// offers are to be suppressed, and one preemption. The caller stores the
// launches' attempts before accepting, and reports launches it could not
// carry out with Drop (then Forget).
func (e *Engine) Cycle(offers []Offer, p CyclePolicy) Decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := Decision{Launches: make([][]Launch, len(offers)), policy: p}
	ds, ts := e.demandsLocked()
	d.PendingBefore = count(ds)
	if len(offers) > 0 {
		for _, l := range e.planLocked(offers, ds, ts, p.MaxLaunches) {
			d.Launches[l.Offer] = append(d.Launches[l.Offer], l)
		}
		ds, _ = e.demandsLocked()
	}
	d.PendingAfter = count(ds)
	placeable := e.placeableLocked(ds)
	d.Refuse = p.Refuse
	if !placeable {
		d.Refuse = p.Idle
	}
	d.Suppress = !placeable
	for i := range d.Launches {
		if len(d.Launches[i]) == 0 {
			d.Declines = append(d.Declines, i)
		}
	}
	if plan, kill, ok := e.preemptLocked(e.now(), p.PreemptAfter, p.PreemptReason); ok {
		d.Preemption, d.Preempt = plan, kill
	}
	return d
}

// Drop takes launches the caller could not carry out (no TaskInfo, the
// store refused their attempts) out of the decision; the caller Forgets
// them, so their instances are pending again: offers left without a launch
// are declined, briefly (the work is placeable), and nothing is
// suppressed.
func (d *Decision) Drop(drop func(l *Launch) bool) []Launch {
	var dropped []Launch
	for i, ls := range d.Launches {
		if len(ls) == 0 {
			continue
		}
		kept := ls[:0]
		for k := range ls {
			if drop(&ls[k]) {
				dropped = append(dropped, ls[k])
				continue
			}
			kept = append(kept, ls[k])
		}
		d.Launches[i] = kept
		if len(kept) == 0 {
			d.Declines = append(d.Declines, i)
		}
	}
	if len(dropped) > 0 {
		slices.Sort(d.Declines)
		d.Refuse = d.policy.Refuse
		d.Suppress = false
		d.PendingAfter += len(dropped)
	}
	return dropped
}

func count(ds []Demand) int {
	n := 0
	for _, d := range ds {
		n += d.Count
	}
	return n
}
