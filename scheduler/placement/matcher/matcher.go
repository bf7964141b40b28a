package matcher

import (
	"maps"
	"math"
	"sort"
	"sync"
	"time"

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
	// means taking them from each engine.Demand (constraints compiled once
	// per task).
	Info func(jobID, task string) TaskInfo
	// Now is the clock for how long work has been blocked (default time.Now).
	Now func() time.Time
	// Usage returns what each (queue, user) already runs, for fairness
	// across cycles; nil means the matcher's own count of the instances it
	// placed (and that have not stopped).
	Usage func() map[[2]string]placement.Resources
}

// groupInfo is what the matcher remembers of a task between cycles.
type groupInfo struct {
	job         string
	info        TaskInfo
	res         placement.Resources
	constraints [][]string // as given, to notice a different spec
}

// Pending explains why a task still has pending instances after a cycle.
type Pending struct {
	Code    placement.Code          `json:"code"`
	Reasons []placement.ReasonCount `json:"reasons"`
}

// Matcher implements engine.Matcher on a placement.Chain. Instances
// placed by Match are counted (for UNIQUE, GROUP_BY, MAX_PER, CLUSTER) in
// group GroupOf(job, task); the scheduler calls Chain().AddRunning for
// instances found running at recovery and Chain().RemoveRunning when an
// instance ends or a planned launch is forgotten.
type Matcher struct {
	cfg  Config
	mu   sync.Mutex
	e    *placement.Chain
	fair *placement.Fair
	why  map[string]Pending
	asks []placement.Ask
	ptrs []*placement.Ask
	// groups by name, and the groups of each job, for JobDone.
	groups map[string]*groupInfo
	byJob  map[string][]string
	usage  map[[2]string]placement.Resources
	// blocked holds, from the last cycle, one ask per task that could not
	// be placed now (not forever), for preemption.
	blocked []placement.Ask
	// since is when each task was first left blocked (cleared when it is
	// not), so preemption waits out offers that are merely late.
	since map[string]time.Time
	// seen holds the attributes each agent last offered with.
	seen map[string]map[string]string
}

var (
	_ engine.Matcher        = (*Matcher)(nil)
	_ engine.AgentObserver  = (*Matcher)(nil)
	_ engine.NeverFitsJudge = (*Matcher)(nil)
	_ engine.Preempter      = (*Matcher)(nil)
)

// New returns a Matcher.
func New(cfg Config) *Matcher {
	return &Matcher{cfg: cfg, e: placement.NewChain(cfg.Placement), why: map[string]Pending{},
		groups: map[string]*groupInfo{}, byJob: map[string][]string{}, usage: map[[2]string]placement.Resources{}, since: map[string]time.Time{}}
}

func (m *Matcher) now() time.Time {
	if m.cfg.Now != nil {
		return m.cfg.Now()
	}
	return time.Now()
}

// GroupOf names the counting group of a task.
func GroupOf(jobID, task string) string { return engine.GroupOf(jobID, task) }

// Chain returns the placement chain, to count running instances. Use it
// only while no Match runs (the scheduler core serialises both).
func (m *Matcher) Chain() *placement.Chain { return m.e }

// Why returns the last explanation for a task with pending instances left
// after a cycle; ok is false when its last cycle placed everything.
func (m *Matcher) Why(jobID, task string) (Pending, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.why[GroupOf(jobID, task)]
	return p, ok
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
		a := placement.Agent{ID: o.AgentID, Hostname: o.Hostname, Attrs: o.Attributes, MonitorSilent: o.MonitorSilent,
			Reserved: placement.Resources(o.Reserved), Unreserved: placement.Resources(o.Available).Sub(placement.Resources(o.Reserved))}
		e.Offer(&a)
		total = total.Add(placement.Resources(o.Available))
	}
	fc := m.cfg.Fair
	if fc.Total.IsZero() {
		fc.Total = total
	}
	m.fair = placement.NewFair(fc)
	usage := m.usage
	if m.cfg.Usage != nil {
		usage = m.cfg.Usage()
	}
	for k, r := range usage {
		m.fair.SetUsage(k[0], k[1], r)
	}

	// A cycle cannot place more of a demand than its offers hold, so a
	// huge task costs asks in proportion to the offers, not its size.
	counts := make([]int, len(demands))
	n := 0
	for di, d := range demands {
		counts[di] = min(d.Count, fitCount(total, placement.Resources(d.Resources)))
		n += counts[di]
	}
	m.asks = m.asks[:0]
	demandOf := make([]int, 0, n)
	m.blocked = m.blocked[:0]
	for di, d := range demands {
		info := m.infoLocked(&d).info
		key, group := d.Job+"."+d.Task, GroupOf(d.Job, d.Task)
		for k := 0; k < counts[di]; k++ {
			m.asks = append(m.asks, placement.Ask{Key: key, Group: group,
				Resources: placement.Resources(d.Resources), Constraints: info.Constraints, Strategy: info.Strategy,
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
			if r.Code == placement.UnschedulableNow {
				m.blocked = append(m.blocked, *a)
				if _, ok := m.since[a.Group]; !ok {
					m.since[a.Group] = m.now()
				}
			} else {
				delete(m.since, a.Group)
			}
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
		m.charge(a.Group, 1)
	}
	for di, d := range demands {
		if !failed[di] {
			delete(m.why, GroupOf(d.Job, d.Task))
			delete(m.since, GroupOf(d.Job, d.Task))
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

// infoLocked returns (and remembers) what placement needs of d's task.
func (m *Matcher) infoLocked(d *engine.Demand) *groupInfo {
	group := GroupOf(d.Job, d.Task)
	gi := m.groups[group]
	if gi != nil && (m.cfg.Info != nil || sameConstraints(gi.constraints, d.Constraints)) {
		gi.res = placement.Resources(d.Resources)
		return gi
	}
	gi = &groupInfo{job: d.Job, res: placement.Resources(d.Resources), constraints: d.Constraints}
	if m.cfg.Info != nil {
		gi.info = m.cfg.Info(d.Job, d.Task)
	} else {
		// Validated at submit; a set that does not compile constrains nothing.
		cs, _ := placement.ParseConstraints(d.Constraints)
		gi.info = TaskInfo{Constraints: cs, Priority: d.Priority, User: d.User, Queue: d.Queue}
	}
	if _, known := m.groups[group]; !known {
		m.byJob[d.Job] = append(m.byJob[d.Job], group)
	}
	m.groups[group] = gi
	return gi
}

func sameConstraints(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for k := range a[i] {
			if a[i][k] != b[i][k] {
				return false
			}
		}
	}
	return true
}

// charge adds n instances of group to its (queue, user) usage.
func (m *Matcher) charge(group string, n float64) {
	gi := m.groups[group]
	if gi == nil {
		return
	}
	k := [2]string{gi.info.Queue, gi.info.User}
	u := m.usage[k]
	r := gi.res
	u = u.Add(placement.Resources{CPUs: r.CPUs * n, Mem: r.Mem * n, Disk: r.Disk * n, GPUs: r.GPUs * n})
	if placement.Milli(u.CPUs) <= 0 && placement.Milli(u.Mem) <= 0 && placement.Milli(u.Disk) <= 0 && placement.Milli(u.GPUs) <= 0 {
		delete(m.usage, k)
		return
	}
	m.usage[k] = u
}

var (
	_ engine.Tracker   = (*Matcher)(nil)
	_ engine.Explainer = (*Matcher)(nil)
)

// Started implements engine.Tracker: an instance found running (at
// recovery) counts for its task's constraints.
func (m *Matcher) Started(jobID, task, hostname string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.e.AddRunning(GroupOf(jobID, task), hostname)
	if _, known := m.groups[GroupOf(jobID, task)]; !known {
		m.groups[GroupOf(jobID, task)] = &groupInfo{job: jobID}
		m.byJob[jobID] = append(m.byJob[jobID], GroupOf(jobID, task))
	}
	m.charge(GroupOf(jobID, task), 1)
}

// Stopped implements engine.Tracker: an instance ended or its launch was
// forgotten.
func (m *Matcher) Stopped(jobID, task, hostname string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.e.RemoveRunning(GroupOf(jobID, task), hostname)
	m.charge(GroupOf(jobID, task), -1)
}

// JobDone implements engine.Tracker: the job's counts, caches and
// explanations are dropped.
func (m *Matcher) JobDone(jobID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.byJob[jobID] {
		if gi := m.groups[g]; gi != nil && gi.info.Constraints != nil && m.cfg.Info == nil {
			m.e.ForgetConstraints(gi.info.Constraints)
		}
		m.e.ForgetGroup(g)
		delete(m.groups, g)
		delete(m.why, g)
		delete(m.since, g)
	}
	delete(m.byJob, jobID)
}

// Forever implements engine.Explainer: the task's last cycle found that no
// known agent could ever take it.
func (m *Matcher) Forever(jobID, task string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.why[GroupOf(jobID, task)]
	return ok && p.Code == placement.UnschedulableForever
}

// ResetForever forgets every "can never fit" verdict (attributes or agents
// changed): the next cycle judges those tasks again.
func (m *Matcher) ResetForever() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for g, p := range m.why {
		if p.Code == placement.UnschedulableForever {
			delete(m.why, g)
		}
	}
}

// Blocked reports whether some ask of the last cycle has been blocked for
// at least after, the cheap test before PlanPreemption.
func (m *Matcher) Blocked(now time.Time, after time.Duration) (priority int, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.blocked {
		if s, seen := m.since[m.blocked[i].Group]; seen && now.Sub(s) >= after {
			if !ok || m.blocked[i].Priority > priority {
				priority, ok = m.blocked[i].Priority, true
			}
		}
	}
	return priority, ok
}

// Preemption is the engine's plan type (engine.Preempter).
type Preemption = engine.Preemption

// PlanPreemption looks at the asks the last cycle could not place and that
// have been blocked for at least after (highest priority first), and
// returns the first that lower-priority running
// instances could make room for, with its victims (placement.PlanPreemption:
// shortest running first, never more than needed). running must hold every
// running instance, Key being its Mesos task id.
func (m *Matcher) PlanPreemption(now time.Time, after time.Duration, running []placement.Victim) (Preemption, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.blocked) == 0 || len(running) == 0 {
		return Preemption{}, false
	}
	asks := append([]placement.Ask(nil), m.blocked...)
	sort.SliceStable(asks, func(i, j int) bool { return asks[i].Priority > asks[j].Priority })
	minPrio := running[0].Priority
	for _, v := range running {
		minPrio = min(minPrio, v.Priority)
	}
	hosts := map[string]bool{}
	for _, v := range running {
		hosts[v.Hostname] = true
	}
	room := make([]placement.HostRoom, 0, len(hosts))
	for h := range hosts {
		r, u := m.e.Remaining(h)
		room = append(room, placement.HostRoom{Hostname: h, Free: r.Add(u)})
	}
	sort.Slice(room, func(i, j int) bool { return room[i].Hostname < room[j].Hostname })
	for i := range asks {
		a := &asks[i]
		if a.Priority <= minPrio {
			break
		}
		if s, ok := m.since[a.Group]; !ok || now.Sub(s) < after {
			continue
		}
		p, ok := placement.PlanPreemption(a, now, room, running, func(h string) bool { return !m.e.Silent(h) && m.e.Feasible(a, h) })
		if ok {
			job, task := splitGroup(a.Group)
			return Preemption{Preemption: p, Job: job, Task: task, Priority: a.Priority}, true
		}
	}
	return Preemption{}, false
}

func splitGroup(g string) (jobID, task string) {
	for i := len(g) - 1; i >= 0; i-- {
		if g[i] == '/' {
			return g[:i], g[i+1:]
		}
	}
	return g, ""
}

// Observe records the agent behind an offer (attributes, size, monitor
// state) even when nothing is pending, so "can never fit" is judged on
// every agent that offered. It reports whether the agent is new or its
// attributes changed; then earlier "can never fit" verdicts are dropped.
func (m *Matcher) Observe(o *engine.Offer) (changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, known := m.seen[o.Hostname]
	if known && maps.Equal(m.seen[o.Hostname], o.Attributes) {
		return false
	}
	if m.seen == nil {
		m.seen = map[string]map[string]string{}
	}
	m.seen[o.Hostname] = o.Attributes
	m.e.Observe(&placement.Agent{ID: o.AgentID, Hostname: o.Hostname, Attrs: o.Attributes, MonitorSilent: o.MonitorSilent,
		Reserved: placement.Resources(o.Reserved), Unreserved: placement.Resources(o.Available).Sub(placement.Resources(o.Reserved))})
	for g, p := range m.why {
		if p.Code == placement.UnschedulableForever {
			delete(m.why, g)
		}
	}
	return true
}

// fitCount bounds how many asks of size r the total could hold (at least 1,
// so a task too large for this cycle is still judged and explained).
func fitCount(total, r placement.Resources) int {
	n := math.MaxInt32
	for _, d := range [...][2]float64{{total.CPUs, r.CPUs}, {total.Mem, r.Mem}, {total.Disk, r.Disk}, {total.GPUs, r.GPUs}} {
		if d[1] > 0 {
			n = min(n, int(d[0]/d[1])+1)
		}
	}
	return max(n, 1)
}
