package matcher

import (
	"sort"
	"sync"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// TaskInfo is what placement needs of a task beyond its demand.
type TaskInfo struct {
	Constraints *placement.Constraints
	Strategy    placement.Strategy
	Priority    int
	User        string
	Queue       string
}

// Config configures a Matcher.
type Config struct {
	Placement placement.Config
	// Fair weights users and queues; a zero Total is taken from the offers
	// of each cycle.
	Fair placement.FairConfig
	// Info returns a task's constraints, priority, user and queue; nil
	// means none.
	Info func(jobID, task string) TaskInfo
	// Usage returns what each (queue, user) already runs, for fairness
	// across cycles; nil means fairness within each cycle only.
	Usage func() map[[2]string]placement.Resources
}

// Pending explains why a task still has pending instances after a cycle.
type Pending struct {
	Code    placement.Code          `json:"code"`
	Reasons []placement.ReasonCount `json:"reasons"`
}

// Matcher implements engine.Matcher on a placement.Engine. Instances
// placed by Match are counted (for UNIQUE, GROUP_BY, MAX_PER, CLUSTER) in
// group GroupOf(job, task); the scheduler calls Engine().AddRunning for
// instances found running at recovery and Engine().RemoveRunning when an
// instance ends or a planned launch is forgotten.
type Matcher struct {
	cfg  Config
	mu   sync.Mutex
	e    *placement.Engine
	fair *placement.Fair
	why  map[string]Pending
	asks []placement.Ask
	ptrs []*placement.Ask
}

var _ engine.Matcher = (*Matcher)(nil)

// New returns a Matcher.
func New(cfg Config) *Matcher {
	return &Matcher{cfg: cfg, e: placement.NewEngine(cfg.Placement), why: map[string]Pending{}}
}

// GroupOf names the counting group of a task.
func GroupOf(jobID, task string) string { return jobID + "/" + task }

// Engine returns the placement engine, to count running instances. Use it
// only while no Match runs (the scheduler core serialises both).
func (m *Matcher) Engine() *placement.Engine { return m.e }

// Why returns the last explanation for a task with pending instances left
// after a cycle; ok is false when its last cycle placed everything.
func (m *Matcher) Why(jobID, task string) (Pending, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.why[GroupOf(jobID, task)]
	return p, ok
}

func toRes(r job.Resources) placement.Resources {
	return placement.Resources{CPUs: r.CPUs, Mem: r.Mem, Disk: r.Disk, GPUs: r.GPUs}
}

func sub(have, want job.Resources) job.Resources { return engine.Sub(have, want) }

// Match implements engine.Matcher.
func (m *Matcher) Match(offers []engine.Offer, demands []engine.Demand) []engine.Placement {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.e
	e.BeginCycle()
	byHost := map[string][]int{}
	left := make([]job.Resources, len(offers))
	var total placement.Resources
	for i := range offers {
		o := &offers[i]
		left[i] = o.Available
		byHost[o.Hostname] = append(byHost[o.Hostname], i)
		a := placement.Agent{ID: o.AgentID, Hostname: o.Hostname, Attrs: o.Attributes, Unreserved: toRes(o.Available)}
		e.Offer(&a)
		total = total.Add(a.Unreserved)
	}
	fc := m.cfg.Fair
	if fc.Total.IsZero() {
		fc.Total = total
	}
	m.fair = placement.NewFair(fc)
	if m.cfg.Usage != nil {
		for k, r := range m.cfg.Usage() {
			m.fair.SetUsage(k[0], k[1], r)
		}
	}

	n := 0
	for _, d := range demands {
		n += d.Count
	}
	m.asks = m.asks[:0]
	demandOf := make([]int, 0, n)
	for di, d := range demands {
		var info TaskInfo
		if m.cfg.Info != nil {
			info = m.cfg.Info(d.Job, d.Task)
		}
		key, group := d.Job+"."+d.Task, GroupOf(d.Job, d.Task)
		for k := 0; k < d.Count; k++ {
			m.asks = append(m.asks, placement.Ask{Key: key, Group: group,
				Resources: toRes(d.Resources), Constraints: info.Constraints, Strategy: info.Strategy,
				Priority: info.Priority, User: info.User, Queue: info.Queue, Seq: uint64(len(m.asks))})
			demandOf = append(demandOf, di)
		}
	}
	m.ptrs = m.ptrs[:0]
	for i := range m.asks {
		m.ptrs = append(m.ptrs, &m.asks[i])
	}
	m.fair.Reset(m.ptrs)

	failed := make([]bool, len(demands))
	placed := map[[2]int]int{} // (offer, demand) → count
	for a := m.fair.Next(); a != nil; a = m.fair.Next() {
		di := demandOf[a.Seq]
		if failed[di] {
			continue
		}
		r := e.Place(a)
		if r.Code != placement.Placed {
			failed[di] = true
			m.why[a.Group] = Pending{Code: r.Code, Reasons: r.Why.Reasons()}
			continue
		}
		oi := -1
		for _, i := range byHost[r.Hostname] {
			if engine.Fits(demands[di].Resources, left[i]) {
				oi = i
				break
			}
		}
		if oi < 0 {
			// Room only across several offers of one agent: not launchable.
			e.RemoveRunning(a.Group, r.Hostname)
			failed[di] = true
			m.why[a.Group] = Pending{Code: placement.UnschedulableNow, Reasons: []placement.ReasonCount{{Reason: "split across offers", Count: 1}}}
			continue
		}
		left[oi] = sub(left[oi], demands[di].Resources)
		placed[[2]int{oi, di}]++
		m.fair.Placed(a)
	}
	for di, d := range demands {
		if !failed[di] {
			delete(m.why, GroupOf(d.Job, d.Task))
		}
	}
	out := make([]engine.Placement, 0, len(placed))
	for k, c := range placed {
		out = append(out, engine.Placement{Offer: k[0], Demand: k[1], Count: c})
	}
	// Deterministic order: by demand, then offer.
	sort.Slice(out, func(i, j int) bool {
		if out[i].Demand != out[j].Demand {
			return out[i].Demand < out[j].Demand
		}
		return out[i].Offer < out[j].Offer
	})
	return out
}
