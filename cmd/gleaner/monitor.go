package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/executor"
	"github.com/gleaner-project/gleaner/monitor"
	"github.com/gleaner-project/gleaner/monitor/policy"
)

func init() {
	d := policy.DefaultParams()
	host, _ := os.Hostname()
	register(&cli.Command{
		Name:  "monitor",
		Usage: "measure idle capacity on this business host and keep the agent's batch reservation at it",
		Description: "Samples the host every --interval, throttles the batch cgroups when business load spikes,\n" +
			"asks the scheduler (through etcd) to evict batch work when memory is short or a spike persists,\n" +
			"and reserves / unreserves the difference for --role on the agent through the master's operator API.\n" +
			"See monitor/README.md for the formula and the defaults.",
		Flags: append(etcdTLSFlags(),
			&cli.StringFlag{Name: "master", Usage: "Mesos master URL", Required: true},
			&cli.StringFlag{Name: "agent-hostname", Usage: "hostname the local agent registered with", Value: host},
			&cli.StringFlag{Name: "role", Usage: "role of the batch reservation", Value: "batch"},
			&cli.StringSliceFlag{Name: "etcd", Usage: "etcd endpoint (repeatable or comma-separated)", Required: true},
			&cli.StringFlag{Name: "etcd-prefix", Usage: "etcd key prefix", Value: "/gleaner/"},
			&cli.StringFlag{Name: "listen", Usage: "address of /metrics and /healthz (empty: none)", Value: "127.0.0.1:8471"},
			&cli.StringFlag{Name: "principal", Usage: "principal of the reservation and of HTTP basic auth"},
			&cli.StringFlag{Name: "secret-file", Usage: "file holding the principal's secret (enables HTTP basic auth)"},
			&cli.DurationFlag{Name: "interval", Usage: "time between samples", Value: time.Second},
			&cli.DurationFlag{Name: "fast-interval", Usage: "time between cheap CPU readings that throttle between samples (0: interval/4; negative: off)"},
			&cli.DurationFlag{Name: "reconcile-interval", Usage: "re-read the master's view this often, and retry refused changes after it", Value: 10 * time.Second},
			&cli.DurationFlag{Name: "heartbeat-ttl", Usage: "lease of the heartbeat record", Value: 10 * time.Second},
			&cli.StringFlag{Name: "proc-root", Usage: "procfs root", Value: "/proc"},
			&cli.StringFlag{Name: "sys-root", Usage: "sysfs root", Value: "/sys"},
			&cli.StringFlag{Name: "cgroup-root", Usage: "cgroup filesystem root", Value: "/sys/fs/cgroup"},
			&cli.StringFlag{Name: "cgroup-parent", Usage: "parent cgroup of the batch tasks", Value: "gleaner"},
			&cli.StringSliceFlag{Name: "bundle-cache", EnvVars: []string{"GLEANER_BUNDLE_CACHE"}, Value: cli.NewStringSlice(executor.DefaultBundleCache), Usage: "the executors' bundle cache directory, counted as batch disk (repeatable; the executors' --bundle-cache, whose default this is)"},
			&cli.BoolFlag{Name: "no-throttle", Usage: "never throttle batch CPU (hosts without writable cgroups)"},
			&cli.Float64Flag{Name: "capacity-cpus", Usage: "host CPUs (0: measured)"},
			&cli.Float64Flag{Name: "capacity-mem-mb", Usage: "host memory in MB (0: measured)"},
			&cli.Float64Flag{Name: "cpu-margin", Usage: "CPU safety margin, fraction of capacity", Value: d.CPU.MarginFraction},
			&cli.Float64Flag{Name: "cpu-system-reserve", Usage: "CPUs kept for the OS, agent and monitor", Value: d.CPU.SystemReserve},
			&cli.Float64Flag{Name: "cpu-min", Usage: "lowest CPU allowance", Value: d.CPU.Min},
			&cli.Float64Flag{Name: "cpu-max", Usage: "highest CPU allowance (0: capacity)", Value: d.CPU.Max},
			&cli.Float64Flag{Name: "cpu-step", Usage: "CPU change applied at once", Value: d.CPU.Step},
			&cli.Float64Flag{Name: "mem-margin", Usage: "memory safety margin, fraction of capacity", Value: d.Mem.MarginFraction},
			&cli.Float64Flag{Name: "mem-system-reserve", Usage: "MB kept for the OS, agent and monitor", Value: d.Mem.SystemReserve},
			&cli.Float64Flag{Name: "mem-min", Usage: "lowest memory allowance (MB)", Value: d.Mem.Min},
			&cli.Float64Flag{Name: "mem-max", Usage: "highest memory allowance (MB; 0: capacity)", Value: d.Mem.Max},
			&cli.Float64Flag{Name: "mem-step", Usage: "memory change applied at once (MB)", Value: d.Mem.Step},
			&cli.IntFlag{Name: "persist", Usage: "samples a smaller change must persist before it is applied", Value: d.CPU.Persist},
			&cli.IntFlag{Name: "peak-window", Usage: "samples the business peak is held", Value: d.PeakWindow},
			&cli.Float64Flag{Name: "throttle-tolerance", Usage: "CPUs batch may use beyond what business leaves it before throttling", Value: d.ThrottleTolerance},
			&cli.Float64Flag{Name: "min-throttle-cpus", Usage: "lowest CPU cap of the batch cgroups", Value: d.MinThrottleCPUs},
			&cli.IntFlag{Name: "lift-after", Usage: "calm samples before the throttle is lifted", Value: d.LiftAfter},
			&cli.IntFlag{Name: "evict-after", Usage: "throttled samples before evictions are requested", Value: d.EvictAfter},
			&cli.BoolFlag{Name: "batch-cpu-idle", Usage: "run the batch cgroups SCHED_IDLE (cpu.idle, else minimal shares) and throttle only when business reaches capacity − margin", Value: d.BatchIdle},
			&cli.StringFlag{Name: "slo-probe-url", Usage: "business URL to GET every fast interval for the latency feedback (with --latency-slo; default: off)"},
			&cli.Float64Flag{Name: "latency-slo", Usage: "business latency objective in ms: a probe reading above it halves the batch CPU cap, readings below 0.8 of it raise the cap by a tenth of the host (0: off; needs --slo-probe-url)", Value: d.LatencySLOMs},
			&cli.BoolFlag{Name: "executors-idle", Usage: "with --batch-cpu-idle, make the gleaner executor processes found on the host (outside the batch cgroups) and the tasks they start SCHED_IDLE too", Value: true},
			&cli.Float64Flag{Name: "memory-pressure-limit", Usage: "share of time tasks may stall on memory (PSI some) while batch holds memory before it is reclaimed (0: off)", Value: d.MemPressureLimit},
			&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error", Value: "info"},
		),
		Action: runMonitor,
	})
}

func runMonitor(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.String("log-level"))
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
		return fmt.Errorf("policy flags: %w", err)
	}
	cfg := monitor.Config{
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
	ec, err := etcdConfig(c, endpoints)
	if err != nil {
		return err
	}
	if ec.TLS != nil {
		if cfg.Etcd, err = clientv3.New(ec); err != nil {
			return fmt.Errorf("etcd: %w", err)
		}
		defer cfg.Etcd.Close()
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return monitor.Run(ctx, cfg)
}
