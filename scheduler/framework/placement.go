package framework

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/prometheus/client_golang/prometheus"
)

// Requeue reasons recorded on attempts Gleaner kills itself (they end
// lost and use no retry).
const (
	ReasonMoved     = "moved: constraint no longer satisfied"
	ReasonPreempted = "preempted"
)

// Agents remembers, per hostname, what the last offer said of an agent
// (Mesos attributes, resources, reservation). It outlives leadership terms
// and serves GET /v1/agents as an attrs.AgentSource.
type Agents struct {
	mu sync.Mutex
	m  map[string]*attrs.AgentInfo
	// sized: the master told the agent's total size (GET_AGENTS).
	sized map[string]bool
	// endpoints: agent ID → the agent's HTTP base URL (offer URL or
	// GET_AGENTS pid), for reading sandboxes.
	endpoints map[string]string
}

var _ attrs.AgentSource = (*Agents)(nil)

// NewAgents returns an empty table.
func NewAgents() *Agents {
	return &Agents{m: map[string]*attrs.AgentInfo{}, sized: map[string]bool{}, endpoints: map[string]string{}}
}

// Endpoint returns the HTTP base URL (http://host:port) of an agent seen in
// an offer or in GET_AGENTS, or "".
func (a *Agents) Endpoint(agentID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.endpoints[agentID]
}

func (a *Agents) learnEndpoint(agentID, url string) {
	if agentID == "" || url == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.endpoints[agentID] = url
}

// learn records what the master says of an agent (GET_AGENTS): its Mesos
// attributes and total size.
func (a *Agents) learn(host, id string, mesosAttrs map[string]string, total job.Resources) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.m[host]
	if v == nil {
		v = &attrs.AgentInfo{Hostname: host}
		a.m[host] = v
	}
	if mesosAttrs == nil {
		mesosAttrs = map[string]string{}
	}
	v.AgentID, v.MesosAttrs = id, mesosAttrs
	v.Resources = placement.Resources(total)
	a.sized[host] = true
}

// Agents implements attrs.AgentSource.
func (a *Agents) Agents() []attrs.AgentInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]attrs.AgentInfo, 0, len(a.m))
	for _, v := range a.m {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname < out[j].Hostname })
	return out
}

// MesosAttrs returns host → Mesos attributes of every agent seen.
func (a *Agents) MesosAttrs() map[string]map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]map[string]string, len(a.m))
	for h, v := range a.m {
		out[h] = v.MesosAttrs
	}
	return out
}

func (a *Agents) record(o *mesos.Offer, mesosAttrs map[string]string, avail, reserved job.Resources, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.m[o.Hostname]
	if v == nil {
		v = &attrs.AgentInfo{Hostname: o.Hostname}
		a.m[o.Hostname] = v
	}
	if mesosAttrs == nil {
		mesosAttrs = map[string]string{}
	}
	v.AgentID, v.MesosAttrs, v.LastOffer = o.AgentID.Value, mesosAttrs, now
	if u := offerEndpoint(o); u != "" {
		a.endpoints[o.AgentID.Value] = u
	}
	v.Reserved = placement.Resources(reserved)
	v.Unreserved = placement.Resources(engine.Sub(avail, reserved))
	if !a.sized[o.Hostname] {
		v.Resources = v.Resources.Max(placement.Resources(avail))
	}
}

// OverlayView applies the rules that depend on etcd to one offer's view,
// purely: attributes are the Mesos ones overlaid with etcdAttrs (etcd
// wins); a host whose monitor is live offers batch work only the role's
// reservation (the monitor sizes it); a host whose monitor is silent gets
// no new work when requireMonitor is set.
func OverlayView(v *engine.Offer, etcdAttrs map[string]string, monitorLive, requireMonitor bool) {
	if len(etcdAttrs) > 0 {
		v.Attributes = placement.MergeAttrs(v.Attributes, etcdAttrs)
	}
	switch {
	case monitorLive:
		v.Available = v.Reserved
	case requireMonitor:
		v.MonitorSilent = true
	}
}

// overlay fills an offer's view from the pool and the attribute watcher,
// and records the agent.
func (f *Framework) overlay(v *engine.Offer, o *mesos.Offer, p *pool) {
	v.Reserved = p.reserved()
	if f.cfg.Agents != nil {
		f.cfg.Agents.record(o, v.Attributes, v.Available, v.Reserved, time.Now())
	}
	if f.cfg.Attrs != nil {
		_, live := f.cfg.Attrs.Monitor(o.Hostname)
		OverlayView(v, f.cfg.Attrs.Attrs(o.Hostname), live, f.cfg.RequireMonitor)
	}
	if f.cfg.HoldHost != nil && f.cfg.HoldHost(o.Hostname) {
		v.Available, v.Reserved = job.Resources{}, job.Resources{}
	}
	// A new agent, or new attributes, may take work judged unplaceable.
	if m, ok := f.engine.Matcher().(*matcher.Matcher); ok && m.Observe(v) {
		f.Revive()
	}
}

// preempt runs after an offer cycle: when the matcher left higher-priority
// work blocked for PreemptAfter, lower-priority instances are killed to
// make room (requeued without using a retry). One plan at a time: nothing
// more is preempted while earlier victims are still dying.
func (f *Framework) preempt(ctx context.Context) {
	m, ok := f.engine.Matcher().(*matcher.Matcher)
	if !ok || !m.Blocked(time.Now(), f.cfg.PreemptAfter) {
		return
	}
	running := f.engine.ActiveInstances()
	victims := make([]placement.Victim, 0, len(running))
	for _, r := range running {
		if r.Requeuing {
			return
		}
		if r.Started.IsZero() {
			continue // still launching: not a victim yet
		}
		victims = append(victims, placement.Victim{Key: r.TaskID, Group: matcher.GroupOf(r.Job, r.Task), Hostname: r.Hostname,
			Priority: r.Priority, Resources: placement.Resources(r.Resources), Started: r.Started})
	}
	p, ok := m.PlanPreemption(time.Now(), f.cfg.PreemptAfter, victims)
	if !ok {
		return
	}
	reasons := make(map[string]string, len(p.Victims))
	for _, v := range p.Victims {
		reasons[v.Key] = ReasonPreempted
	}
	kill := f.engine.Requeue(reasons)
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
		if m, ok := f.engine.Matcher().(*matcher.Matcher); ok {
			m.ResetForever()
		}
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
		g := matcher.GroupOf(r.Job, r.Task)
		cs, ok := compiled[g]
		if !ok {
			cs, _ = placement.ParseConstraints(r.Constraints) // validated at submit
			compiled[g] = cs
		}
		if cs == nil {
			continue
		}
		ins = append(ins, attrs.Instance{Key: r.TaskID, Group: matcher.GroupOf(r.Job, r.Task), Hostname: r.Hostname, Constraints: cs, Started: r.Started})
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

// offerEndpoint is the agent's base URL from an offer's url field.
func offerEndpoint(o *mesos.Offer) string {
	if o.URL == nil || o.URL.Address.Port == 0 {
		return ""
	}
	host := o.URL.Address.GetIP()
	if host == "" {
		host = o.URL.Address.GetHostname()
	}
	if host == "" {
		host = o.Hostname
	}
	scheme := o.URL.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, strconv.Itoa(int(o.URL.Address.Port))))
}

// pidEndpoint is the agent's base URL from a libprocess pid
// (slave(1)@10.0.0.5:5051).
func pidEndpoint(pid string) string {
	_, addr, ok := strings.Cut(pid, "@")
	if !ok || addr == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return ""
	}
	return "http://" + addr
}
