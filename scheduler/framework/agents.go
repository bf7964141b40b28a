package framework

import (
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
	mesos "github.com/mesos/mesos-go/api/v1/lib"
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
	// monitors: which hosts --require-monitor blocks (monitorgate.go).
	monitors MonitorGate
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
		f.gateMonitor(o.Hostname, live)
	}
	if f.cfg.HoldHost != nil && f.cfg.HoldHost(o.Hostname) {
		v.Available, v.Reserved = job.Resources{}, job.Resources{}
	}
	// A new agent, or new attributes, may take work judged unplaceable.
	if f.engine.ObserveOffer(v) {
		f.Revive()
	}
}

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
