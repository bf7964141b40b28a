package framework

import (
	"sort"
	"sync"
	"time"
)

// Defaults of MonitorGate.
const (
	// DefaultMonitorLogEvery: a host blocked by --require-monitor is
	// named in the log at most this often.
	DefaultMonitorLogEvery = time.Minute
	// DefaultMonitorForget: a host not offered for this long leaves the
	// silent list (the agent is gone, or nothing has asked for offers).
	DefaultMonitorForget = 15 * time.Minute
)

// MonitorGate remembers, per host, whether its last offer came with a live
// monitor heartbeat, and decides — purely, from the times it is given —
// which hosts --require-monitor blocks and when to say so in the log. It
// makes the otherwise silent refusal visible: in the log and in /healthz.
type MonitorGate struct {
	// LogEvery and Forget default to DefaultMonitorLogEvery and
	// DefaultMonitorForget.
	LogEvery, Forget time.Duration

	mu    sync.Mutex
	hosts map[string]*gatedHost
}

type gatedHost struct {
	silent   bool
	seen     time.Time // last offer
	silentAt time.Time // first offer of the current silent spell
	logged   time.Time // last time the log named this host
}

// GateDecision is what Observe decided for one offer.
type GateDecision struct {
	// Blocked: the host gets no new work (monitor required and silent).
	Blocked bool
	// Log: name the host in the log now (the first blocked offer, then
	// at most once per LogEvery).
	Log bool
	// SilentFor is how long the host has been seen blocked.
	SilentFor time.Duration
}

// Observe records one offer from host: whether its monitor heartbeat is
// live and whether a live monitor is required.
func (g *MonitorGate) Observe(host string, live, required bool, now time.Time) GateDecision {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hosts == nil {
		g.hosts = map[string]*gatedHost{}
	}
	h := g.hosts[host]
	if h == nil {
		h = &gatedHost{}
		g.hosts[host] = h
	}
	h.seen = now
	if live || !required {
		*h = gatedHost{seen: now}
		return GateDecision{}
	}
	if !h.silent {
		h.silent, h.silentAt = true, now
	}
	d := GateDecision{Blocked: true, SilentFor: now.Sub(h.silentAt)}
	if h.logged.IsZero() || now.Sub(h.logged) >= g.logEvery() {
		h.logged, d.Log = now, true
	}
	return d
}

// Silent returns the hosts whose last offer, at most Forget ago, found
// their required monitor silent, sorted.
func (g *MonitorGate) Silent(now time.Time) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := []string{}
	for host, h := range g.hosts {
		if h.silent && now.Sub(h.seen) < g.forget() {
			out = append(out, host)
		}
	}
	sort.Strings(out)
	return out
}

func (g *MonitorGate) logEvery() time.Duration {
	if g.LogEvery > 0 {
		return g.LogEvery
	}
	return DefaultMonitorLogEvery
}

func (g *MonitorGate) forget() time.Duration {
	if g.Forget > 0 {
		return g.Forget
	}
	return DefaultMonitorForget
}

// SilentMonitors returns the hosts --require-monitor blocks now (their last
// offer found no live monitor heartbeat), for /healthz.
func (a *Agents) SilentMonitors(now time.Time) []string {
	return a.monitors.Silent(now)
}

// gateMonitor records an offer's monitor state and, rate-limited per host,
// logs that the host gets no new work because its monitor is silent.
func (f *Framework) gateMonitor(host string, live bool) {
	if f.cfg.Agents == nil {
		return
	}
	d := f.cfg.Agents.monitors.Observe(host, live, f.cfg.RequireMonitor, time.Now())
	if d.Log {
		f.log.Warn("host gets no new work: its monitor heartbeat is silent and --require-monitor is on (start 'gleaner monitor' there, or run the scheduler with --require-monitor=false)",
			"host", host, "silent_for", d.SilentFor.Round(time.Second))
	}
}
