package framework

import (
	"context"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/prometheus/client_golang/prometheus"
)

// Requeue reasons recorded on attempts Gleaner kills itself (they end
// lost and use no retry).
const (
	ReasonMoved     = "moved: constraint no longer satisfied"
	ReasonPreempted = "preempted"
)

// preempt kills the victims of the cycle's preemption: the engine decided
// (engine.Cycle) that higher-priority work has waited PreemptAfter and
// which lower-priority instances make room (requeued without using a
// retry).
func (f *Framework) preempt(ctx context.Context, d *engine.Decision) {
	p, kill := d.Preemption, d.Preempt
	if len(kill) == 0 {
		return
	}
	f.log.Info("preempting", "for", p.Job+"."+p.Task, "priority", p.Priority, "host", p.Hostname, "victims", len(kill), "work_lost", p.WorkLost)
	preemptionsTotal.Add(float64(len(kill)))
	f.Kill(ctx, kill)
}

// placementLoop reacts to attribute edits: "can never fit" verdicts are
// forgotten and offers revived, and running instances whose constraints
// the new attributes break are moved (killed, requeued without using a
// retry) at the MoveRate.
func (f *Framework) placementLoop(ctx context.Context) {
	w := f.cfg.Attrs
	if w == nil {
		return
	}
	lim := attrs.NewMoveLimiter(f.cfg.MoveRate, f.cfg.MoveBurst)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	owed := false // violations left for the limiter
	recheck := time.Now()
	rejudge := func() {
		f.engine.RejudgeNeverFits()
		f.Revive()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.Changed():
			w.TakeChanged()
			rejudge()
		case now := <-tick.C:
			// Agents that joined while offers were suppressed are only
			// seen through offers: work judged never to fit is judged
			// again now and then.
			if now.Sub(recheck) >= f.cfg.ForeverRecheck {
				recheck = now
				if f.engine.HasPending() && !f.engine.HasPlaceable() {
					rejudge()
				}
			}
			if !owed {
				continue
			}
		}
		if f.cfg.Agents == nil {
			continue
		}
		owed = f.move(ctx, lim)
	}
}

// move kills what the limiter allows of the current violations and
// reports whether some are left.
func (f *Framework) move(ctx context.Context, lim *attrs.MoveLimiter) bool {
	known := f.cfg.Agents.MesosAttrs()
	merged := make(map[string]map[string]string, len(known))
	for h, ma := range known {
		merged[h] = placement.MergeAttrs(ma, f.cfg.Attrs.Attrs(h))
	}
	var ins []attrs.Instance
	compiled := map[string]*placement.Constraints{}
	for _, r := range f.engine.ActiveInstances() {
		if len(r.Constraints) == 0 || r.Requeuing {
			continue
		}
		g := engine.GroupOf(r.Job, r.Task)
		cs, ok := compiled[g]
		if !ok {
			cs, _ = placement.ParseConstraints(r.Constraints) // validated at submit
			compiled[g] = cs
		}
		if cs == nil {
			continue
		}
		ins = append(ins, attrs.Instance{Key: r.TaskID, Group: engine.GroupOf(r.Job, r.Task), Hostname: r.Hostname, Constraints: cs, Started: r.Started})
	}
	unknown := false
	for _, in := range ins {
		if _, ok := merged[in.Hostname]; !ok {
			unknown = true // learnt later from offers or GET_AGENTS: check again
		}
	}
	vs := attrs.Violations(ins, merged)
	if len(vs) == 0 {
		return unknown
	}
	n := lim.Take(time.Now(), len(vs))
	reasons := make(map[string]string, n)
	for _, v := range vs[:n] {
		reasons[v.Instance.Key] = ReasonMoved
		f.log.Info("moving instance", "task", v.Instance.Key, "host", v.Instance.Hostname, "constraint", v.Constraint)
	}
	if n > 0 {
		kill := f.engine.Requeue(reasons)
		movesTotal.Add(float64(len(kill)))
		f.Kill(ctx, kill)
	}
	return n < len(vs) || unknown
}

func (c *Config) placementDefaults() {
	if c.MoveRate == 0 {
		c.MoveRate = 1
	}
	if c.MoveBurst == 0 {
		c.MoveBurst = 5
	}
	if c.PreemptAfter == 0 {
		c.PreemptAfter = 5 * time.Second
	}
	if c.ForeverRecheck == 0 {
		c.ForeverRecheck = time.Minute
	}
	if c.AgentsPoll == 0 {
		c.AgentsPoll = 30 * time.Second
	}
}

var (
	preemptionsTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_preemptions_total", Help: "Instances killed to make room for higher-priority work."})
	movesTotal       = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_constraint_moves_total", Help: "Instances killed because attribute edits broke their constraints."})
)

func init() { prometheus.MustRegister(preemptionsTotal, movesTotal) }
