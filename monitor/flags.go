package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/monitor/policy"
)

// Flag is one command-line flag of the monitor. The one table (Flags)
// feeds both front ends: `gleaner monitor` and the slim `gleaner-monitor`
// binary, so their flags, defaults and help cannot drift apart.
type Flag struct {
	Name  string
	Usage string
	// Default is a string, []string, bool, int, float64 or time.Duration:
	// the flag's type.
	Default  any
	Required bool
	EnvVar   string // read when the flag is not given ("": none)
}

// bundleCacheDefault is executor.DefaultBundleCache (a test checks it),
// repeated so that the slim binary does not link the executor.
const bundleCacheDefault = "/var/cache/gleaner/bundles"

// Flags is the monitor's command line, in help order.
func Flags() []Flag {
	d := policy.DefaultParams()
	host, _ := os.Hostname()
	return []Flag{
		{Name: "etcd-cacert", Default: "", Usage: "CA bundle that verifies the etcd servers' certificates (https:// endpoints)"},
		{Name: "etcd-cert", Default: "", Usage: "client certificate presented to etcd (with --etcd-key)"},
		{Name: "etcd-key", Default: "", Usage: "private key of --etcd-cert"},
		{Name: "master", Default: "", Usage: "Mesos master URL", Required: true},
		{Name: "agent-hostname", Default: host, Usage: "hostname the local agent registered with"},
		{Name: "role", Default: "batch", Usage: "role of the batch reservation"},
		{Name: "etcd", Default: []string(nil), Usage: "etcd endpoint (repeatable or comma-separated)", Required: true},
		{Name: "etcd-prefix", Default: "/gleaner/", Usage: "etcd key prefix"},
		{Name: "listen", Default: "127.0.0.1:8471", Usage: "address of /metrics and /healthz (empty: none)"},
		{Name: "principal", Default: "", Usage: "principal of the reservation and of HTTP basic auth"},
		{Name: "secret-file", Default: "", Usage: "file holding the principal's secret (enables HTTP basic auth)"},
		{Name: "interval", Default: time.Second, Usage: "time between samples"},
		{Name: "fast-interval", Default: time.Duration(0), Usage: "time between cheap CPU readings that throttle between samples (0: interval/4; negative: off)"},
		{Name: "reconcile-interval", Default: 10 * time.Second, Usage: "re-read the master's view this often, and retry refused changes after it"},
		{Name: "heartbeat-ttl", Default: 10 * time.Second, Usage: "lease of the heartbeat record"},
		{Name: "proc-root", Default: "/proc", Usage: "procfs root"},
		{Name: "sys-root", Default: "/sys", Usage: "sysfs root"},
		{Name: "cgroup-root", Default: "/sys/fs/cgroup", Usage: "cgroup filesystem root"},
		{Name: "cgroup-parent", Default: "gleaner", Usage: "parent cgroup of the batch tasks"},
		{Name: "bundle-cache", Default: []string{bundleCacheDefault}, EnvVar: "GLEANER_BUNDLE_CACHE", Usage: "the executors' bundle cache directory, counted as batch disk (repeatable; the executors' --bundle-cache, whose default this is)"},
		{Name: "no-throttle", Default: false, Usage: "never throttle batch CPU (hosts without writable cgroups)"},
		{Name: "capacity-cpus", Default: 0.0, Usage: "host CPUs (0: measured)"},
		{Name: "capacity-mem-mb", Default: 0.0, Usage: "host memory in MB (0: measured)"},
		{Name: "cpu-margin", Default: d.CPU.MarginFraction, Usage: "CPU safety margin, fraction of capacity"},
		{Name: "cpu-system-reserve", Default: d.CPU.SystemReserve, Usage: "CPUs kept for the OS, agent and monitor"},
		{Name: "cpu-min", Default: d.CPU.Min, Usage: "lowest CPU allowance"},
		{Name: "cpu-max", Default: d.CPU.Max, Usage: "highest CPU allowance (0: capacity)"},
		{Name: "cpu-step", Default: d.CPU.Step, Usage: "CPU change applied at once"},
		{Name: "mem-margin", Default: d.Mem.MarginFraction, Usage: "memory safety margin, fraction of capacity"},
		{Name: "mem-system-reserve", Default: d.Mem.SystemReserve, Usage: "MB kept for the OS, agent and monitor"},
		{Name: "mem-min", Default: d.Mem.Min, Usage: "lowest memory allowance (MB)"},
		{Name: "mem-max", Default: d.Mem.Max, Usage: "highest memory allowance (MB; 0: capacity)"},
		{Name: "mem-step", Default: d.Mem.Step, Usage: "memory change applied at once (MB)"},
		{Name: "persist", Default: d.CPU.Persist, Usage: "samples a smaller change must persist before it is applied"},
		{Name: "peak-window", Default: d.PeakWindow, Usage: "samples the business peak is held"},
		{Name: "throttle-tolerance", Default: d.ThrottleTolerance, Usage: "CPUs batch may use beyond what business leaves it before throttling"},
		{Name: "min-throttle-cpus", Default: d.MinThrottleCPUs, Usage: "lowest CPU cap of the batch cgroups"},
		{Name: "lift-after", Default: d.LiftAfter, Usage: "calm samples before the throttle is lifted"},
		{Name: "evict-after", Default: d.EvictAfter, Usage: "throttled samples before evictions are requested"},
		{Name: "batch-cpu-idle", Default: d.BatchIdle, Usage: "run the batch cgroups SCHED_IDLE (cpu.idle, else minimal shares) and throttle only when business reaches capacity − margin"},
		{Name: "slo-probe-url", Default: "", Usage: "business URL to GET every fast interval for the latency feedback (with --latency-slo; default: off)"},
		{Name: "latency-slo", Default: d.LatencySLOMs, Usage: "business latency objective in ms: a probe reading above it halves the batch CPU cap, readings below 0.8 of it raise the cap by a tenth of the host (0: off; needs --slo-probe-url)"},
		{Name: "executors-idle", Default: true, Usage: "with --batch-cpu-idle, make the gleaner executor processes found on the host (outside the batch cgroups) and the tasks they start SCHED_IDLE too"},
		{Name: "memory-pressure-limit", Default: d.MemPressureLimit, Usage: "share of time tasks may stall on memory (PSI some) while batch holds memory before it is reclaimed (0: off)"},
		{Name: "log-level", Default: "info", Usage: "debug, info, warn or error"},
	}
}

// FlagValues reads parsed flags by name (urfave/cli's *cli.Context has
// these methods; the slim binary adapts the standard flag package).
type FlagValues interface {
	String(name string) string
	StringSlice(name string) []string
	Bool(name string) bool
	Int(name string) int
	Float64(name string) float64
	Duration(name string) time.Duration
}

// ConfigFromFlags is the Config the monitor's flags describe, with a text
// logger on stderr at --log-level and, with TLS flags, an etcd client
// (Config.Etcd; the caller closes it).
func ConfigFromFlags(c FlagValues) (Config, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return Config{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.String("log-level"))
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var endpoints []string
	for _, e := range c.StringSlice("etcd") {
		for _, p := range strings.Split(e, ",") {
			if p = strings.TrimSpace(p); p != "" {
				endpoints = append(endpoints, p)
			}
		}
	}
	p := policy.Params{
		CPU: policy.Rule{MarginFraction: c.Float64("cpu-margin"), SystemReserve: c.Float64("cpu-system-reserve"),
			Min: c.Float64("cpu-min"), Max: c.Float64("cpu-max"), Step: c.Float64("cpu-step"), Persist: c.Int("persist")},
		Mem: policy.Rule{MarginFraction: c.Float64("mem-margin"), SystemReserve: c.Float64("mem-system-reserve"),
			Min: c.Float64("mem-min"), Max: c.Float64("mem-max"), Step: c.Float64("mem-step"), Persist: c.Int("persist")},
		PeakWindow:        c.Int("peak-window"),
		ThrottleTolerance: c.Float64("throttle-tolerance"),
		MinThrottleCPUs:   c.Float64("min-throttle-cpus"),
		LiftAfter:         c.Int("lift-after"),
		EvictAfter:        c.Int("evict-after"),
		BatchIdle:         c.Bool("batch-cpu-idle"),
		LatencySLOMs:      c.Float64("latency-slo"),
		MemPressureLimit:  c.Float64("memory-pressure-limit"),
	}
	if err := p.Validate(); err != nil {
		return Config{}, fmt.Errorf("policy flags: %w", err)
	}
	cfg := Config{
		MasterURL: c.String("master"), AgentHostname: c.String("agent-hostname"), Role: c.String("role"),
		Principal: c.String("principal"), SecretFile: c.String("secret-file"),
		EtcdEndpoints: endpoints, EtcdPrefix: c.String("etcd-prefix"), HeartbeatTTL: c.Duration("heartbeat-ttl"),
		Listen: c.String("listen"), Interval: c.Duration("interval"), FastInterval: c.Duration("fast-interval"), ReconcileInterval: c.Duration("reconcile-interval"),
		ProcRoot: c.String("proc-root"), SysRoot: c.String("sys-root"), CgroupRoot: c.String("cgroup-root"),
		CgroupParent: c.String("cgroup-parent"), NoThrottle: c.Bool("no-throttle"), ExecutorsKeepClass: !c.Bool("executors-idle"), SLOProbeURL: c.String("slo-probe-url"),
		BundleCacheDirs: c.StringSlice("bundle-cache"),
		CapacityCPUs:    c.Float64("capacity-cpus"), CapacityMemMB: c.Float64("capacity-mem-mb"),
		Policy: p, Logger: logger, ReleaseStartupPages: true,
	}
	info := transport.TLSInfo{TrustedCAFile: c.String("etcd-cacert"), CertFile: c.String("etcd-cert"), KeyFile: c.String("etcd-key")}
	if (info.CertFile == "") != (info.KeyFile == "") {
		return Config{}, errors.New("--etcd-cert and --etcd-key go together")
	}
	if info.Empty() && info.TrustedCAFile == "" {
		return cfg, nil
	}
	tc, err := info.ClientConfig()
	if err != nil {
		return Config{}, fmt.Errorf("etcd TLS: %w", err)
	}
	if cfg.Etcd, err = clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, TLS: tc}); err != nil {
		return Config{}, fmt.Errorf("etcd: %w", err)
	}
	return cfg, nil
}
