package framework

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

// --require-monitor with a silent monitor blocks a host; the log names it on
// the first blocked offer, then at most once per LogEvery; a live heartbeat
// (or the requirement off) clears it; /healthz lists the blocked hosts.
func TestMonitorGateDecidesBlockingAndLogging(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type offer struct {
		host           string
		live, required bool
		at             time.Duration
		want           GateDecision
		silent         []string
	}
	tests := []struct {
		name   string
		offers []offer
	}{
		{"required and silent: blocked, logged first, rate-limited, then again after a minute", []offer{
			{"a", false, true, 0, GateDecision{Blocked: true, Log: true}, []string{"a"}},
			{"a", false, true, 5 * time.Second, GateDecision{Blocked: true, SilentFor: 5 * time.Second}, []string{"a"}},
			{"a", false, true, 59 * time.Second, GateDecision{Blocked: true, SilentFor: 59 * time.Second}, []string{"a"}},
			{"a", false, true, 60 * time.Second, GateDecision{Blocked: true, Log: true, SilentFor: 60 * time.Second}, []string{"a"}},
		}},
		{"rate limit is per host: a second host is named at once", []offer{
			{"a", false, true, 0, GateDecision{Blocked: true, Log: true}, []string{"a"}},
			{"b", false, true, time.Second, GateDecision{Blocked: true, Log: true}, []string{"a", "b"}},
			{"a", true, true, 2 * time.Second, GateDecision{}, []string{"b"}},
		}},
		{"a live monitor is never blocked", []offer{
			{"a", true, true, 0, GateDecision{}, []string{}},
		}},
		{"not required: nothing blocked even when silent", []offer{
			{"a", false, false, 0, GateDecision{}, []string{}},
		}},
		{"a host that went live and silent again is logged at once, its spell restarted", []offer{
			{"a", false, true, 0, GateDecision{Blocked: true, Log: true}, []string{"a"}},
			{"a", true, true, 10 * time.Second, GateDecision{}, []string{}},
			{"a", false, true, 20 * time.Second, GateDecision{Blocked: true, Log: true}, []string{"a"}},
		}},
		{"a host not offered for Forget leaves the list", []offer{
			{"a", false, true, 0, GateDecision{Blocked: true, Log: true}, []string{"a"}},
			{"b", true, true, DefaultMonitorForget, GateDecision{}, []string{}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g MonitorGate
			for i, o := range tc.offers {
				now := t0.Add(o.at)
				if got := g.Observe(o.host, o.live, o.required, now); got != o.want {
					t.Errorf("offer %d (%s at %v): %+v, want %+v", i, o.host, o.at, got, o.want)
				}
				if got := g.Silent(now); !reflect.DeepEqual(got, o.silent) {
					t.Errorf("offer %d: silent %v, want %v", i, got, o.silent)
				}
			}
		})
	}
}

// The wiring: an offer from a host with a silent required monitor is logged
// once, naming the host, and listed by Agents.SilentMonitors.
func TestGateMonitorLogsTheBlockedHostOnce(t *testing.T) {
	var buf bytes.Buffer
	agents := NewAgents()
	f := &Framework{cfg: Config{Agents: agents, RequireMonitor: true}, log: slog.New(slog.NewTextHandler(&buf, nil))}
	f.gateMonitor("host-a", false)
	f.gateMonitor("host-a", false)
	f.gateMonitor("host-b", true)
	if n := strings.Count(buf.String(), "host=host-a"); n != 1 {
		t.Errorf("host-a named %d times in the log, want 1:\n%s", n, buf.String())
	}
	if strings.Contains(buf.String(), "host-b") {
		t.Errorf("host-b has a live monitor, yet is logged:\n%s", buf.String())
	}
	if got := agents.SilentMonitors(time.Now()); !reflect.DeepEqual(got, []string{"host-a"}) {
		t.Errorf("SilentMonitors = %v, want [host-a]", got)
	}
}
