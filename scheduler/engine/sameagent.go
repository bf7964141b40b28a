package engine

import (
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Restart OnFailure prefers the same agent: an instance requeued after a
// failure with retry.Decision.SameAgent is held for the agent of its ended
// attempt (where its sandbox, fetched URIs and rootfs copy still are) for
// SameAgentWait after it became runnable. While held, it is placed only on
// an offer from that agent; then on any agent.

// DefaultSameAgentWait is how long a retry waits for its previous agent.
const DefaultSameAgentWait = 5 * time.Second

// SetSameAgentWait changes how long a retry waits for its previous agent
// (0: it takes any agent at once).
func (e *Engine) SetSameAgentWait(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sameAgentWait = d
}

// preferAgent records the ended attempt's agent on an instance to run again.
func (e *Engine) preferAgent(in *instState, a *job.Attempt, same bool) {
	if in.extra != nil {
		in.extra.prefer, in.extra.preferUntil = "", time.Time{}
		in.trimExtra()
	}
	if !same || a.AgentID == "" || e.sameAgentWait <= 0 {
		return
	}
	from := e.now()
	if a.NotBefore.After(from) {
		from = a.NotBefore
	}
	x := in.more()
	x.prefer, x.preferUntil = a.AgentID, from.Add(e.sameAgentWait)
}

// heldFor returns the agent a requeued index is held for at now, or "".
func (t *taskState) heldFor(idx int, now time.Time) string {
	in := t.inst[idx]
	if in == nil || in.extra == nil || in.extra.prefer == "" || !now.Before(in.extra.preferUntil) {
		return ""
	}
	return in.extra.prefer
}

// held groups t's held requeued indexes by agent.
func (t *taskState) held(now time.Time) (map[string]int, int) {
	var by map[string]int
	n := 0
	for _, idx := range t.requeue {
		if ag := t.heldFor(idx, now); ag != "" {
			if by == nil {
				by = map[string]int{}
			}
			by[ag]++
			n++
		}
	}
	return by, n
}

// takeIndex removes and returns the first requeued index whose hold is
// agent ("" for indexes not held), else (agent "") the next never-launched
// index; ok is false when there is none.
func (t *taskState) takeIndex(agent string, now time.Time) (int, bool) {
	for i, idx := range t.requeue {
		if t.heldFor(idx, now) == agent {
			t.requeue = append(t.requeue[:i:i], t.requeue[i+1:]...)
			return idx, true
		}
	}
	if agent == "" && t.next < t.spec.Instances {
		t.next++
		return t.next - 1, true
	}
	return 0, false
}

// planHeldLocked places held instances on their agents' offers first
// (the matcher decides, so constraints still apply). It returns the
// launches, the offers' room left for everything else, and the held count
// per demand (to leave out of the general pass).
func (e *Engine) planHeldLocked(offers []Offer, ds []Demand, ts []*taskState, now time.Time) ([]Launch, []Offer, []int) {
	var out []Launch
	var rest []Offer
	heldN := make([]int, len(ds))
	for di, t := range ts {
		by, n := t.held(now)
		heldN[di] = n
		for agent, cnt := range by {
			var sub []Offer
			var orig []int
			for i := range offers {
				if offers[i].AgentID == agent {
					if rest == nil {
						rest = append([]Offer(nil), offers...)
					}
					sub = append(sub, rest[i])
					orig = append(orig, i)
				}
			}
			if len(sub) == 0 {
				continue
			}
			d := ds[di]
			d.Count = min(cnt, t.capacity())
			if d.Count <= 0 {
				continue
			}
			js := e.jobs[d.Job]
			for _, p := range e.matcher.Match(sub, []Demand{d}) {
				oi := orig[p.Offer]
				for k := 0; k < p.Count && t.capacity() > 0; k++ {
					idx, ok := t.takeIndex(agent, now)
					if !ok {
						break
					}
					out = append(out, e.launchLocked(js, t, idx, offers, oi, now))
					rest[oi].Available = Sub(rest[oi].Available, d.Resources)
					rest[oi].Reserved = minRes(rest[oi].Reserved, rest[oi].Available)
					heldN[di]--
				}
			}
		}
	}
	if rest == nil {
		rest = offers
	}
	return out, rest, heldN
}

func minRes(a, b job.Resources) job.Resources {
	return job.Resources{CPUs: min(a.CPUs, b.CPUs), Mem: min(a.Mem, b.Mem), Disk: min(a.Disk, b.Disk), GPUs: min(a.GPUs, b.GPUs)}
}
