package monitor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/monitor/reserver"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// idleEnv makes this test binary a baseline process that does nothing
// (a Go runtime asleep), measured beside the monitor.
const idleEnv = "GLEANER_BENCH_IDLE"

func init() {
	if os.Getenv(idleEnv) == "1" {
		for {
			time.Sleep(time.Hour)
		}
	}
}

// baselineBinEnv names a gleaner binary (e.g. built from an earlier commit)
// that BenchmarkMonitorProcess also runs as `gleaner monitor`, in the same
// window, for before/after figures from one run.
const baselineBinEnv = "GLEANER_MONITOR_BENCH_BASELINE"

// monitorBenchWindow is how long BenchmarkMonitorProcess measures: past the
// Go runtime's forced collection every 2 minutes, so the heap goes through
// a whole cycle and the code the sampling loop reaches now and then (the
// process scan, reconciles, heartbeats) is resident.
const monitorBenchWindow = 150 * time.Second

// BenchmarkMonitorProcess runs the monitor as real processes (sampling
// every second, fast checks every 250 ms, heartbeat to a real etcd, a local
// Mesos master, each monitor on an agent of its own) side by side in one
// window: the slim gleaner-monitor binary (the headline figures), `gleaner
// monitor` from the one gleaner binary (full-*), and with
// $GLEANER_MONITOR_BENCH_BASELINE a third binary (before-*). It
// reports each one's CPU as a share of one core over the window, and its
// steady-state RSS: the largest VmRSS read every second over the window
// after start-up (rss-MiB; rss-anon-MiB is RssAnon at that reading, the
// rest being the binary's pages). A baseline process doing nothing (this
// binary, asleep) is measured over the same window: what it shows is the
// measurement's floor on this host.
func BenchmarkMonitorProcess(b *testing.B) {
	dir := b.TempDir()
	bins := []struct{ label, path, pkg string }{
		{"", filepath.Join(dir, "gleaner-monitor"), "../monitor/cmd/gleaner-monitor"},
		{"full-", filepath.Join(dir, "gleaner"), "../cmd/gleaner"},
	}
	for _, bin := range bins {
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin.path, bin.pkg) // as make build
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.Skipf("cannot build %s (another package may be mid-change): %v\n%s", bin.pkg, err, out)
		}
	}
	if base := os.Getenv(baselineBinEnv); base != "" {
		bins = append(bins, struct{ label, path, pkg string }{"before-", base, ""})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, err := localmesos.Start(ctx, localmesos.Config{Agents: len(bins), Resources: "cpus:2;mem:4096", WorkDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	etcd := etcdtest.Start(b)
	type figures struct{ cpuPct, rssMiB, anonMiB, peakMiB float64 }
	got := make([]figures, len(bins))
	var idlePct float64
	var parents []string
	defer func() { // a monitor creates its parent (idle class, memory soft limit)
		for _, parent := range parents {
			for _, ctl := range []string{"cpu", "cpuacct", "memory", ""} {
				_ = os.Remove(filepath.Join("/sys/fs/cgroup", ctl, parent))
			}
		}
	}()
	for i := 0; i < b.N; i++ {
		var cmds []*exec.Cmd
		for k, bin := range bins {
			parent := fmt.Sprintf("gleaner-monitor-bench-%d-%d", os.Getpid(), k)
			parents = append(parents, parent)
			cmd := exec.Command(bin.path, "monitor", "--master", cl.MasterURL(), "--agent-hostname", cl.Agents()[k].Hostname(),
				"--etcd", strings.Join(etcd.Endpoints, ","), "--listen", "127.0.0.1:0", "--interval", "1s",
				"--cgroup-parent", parent, "--log-level", "warn")
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
		idle := exec.Command(os.Args[0])
		idle.Env = append(os.Environ(), idleEnv+"=1")
		if err := idle.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(3 * time.Second) // start-up and first reconcile are not steady state
		t0, i0 := time.Now(), procCPU(b, idle.Process.Pid)
		c0 := make([]float64, len(cmds))
		for k, cmd := range cmds {
			c0[k] = procCPU(b, cmd.Process.Pid)
			got[k] = figures{}
		}
		tick := time.NewTicker(time.Second)
		for time.Since(t0) < monitorBenchWindow {
			<-tick.C
			for k, cmd := range cmds {
				if rss := procStatus(b, cmd.Process.Pid, "VmRSS:"); rss > got[k].rssMiB {
					got[k].rssMiB, got[k].anonMiB = rss, procStatus(b, cmd.Process.Pid, "RssAnon:")
				}
			}
		}
		tick.Stop()
		t1 := time.Now()
		idlePct = (procCPU(b, idle.Process.Pid) - i0) / t1.Sub(t0).Seconds() * 100
		for k, cmd := range cmds {
			got[k].cpuPct = (procCPU(b, cmd.Process.Pid) - c0[k]) / t1.Sub(t0).Seconds() * 100
			got[k].peakMiB = procStatus(b, cmd.Process.Pid, "VmHWM:")
		}
		_ = idle.Process.Kill()
		_ = idle.Wait()
		for k, cmd := range cmds {
			_ = cmd.Process.Signal(os.Interrupt)
			if err := cmd.Wait(); err != nil {
				b.Fatalf("%s monitor exited with %v", bins[k].path, err)
			}
		}
	}
	for k, bin := range bins {
		b.ReportMetric(got[k].cpuPct, bin.label+"pct-core")
		b.ReportMetric(got[k].rssMiB, bin.label+"rss-MiB")
		b.ReportMetric(got[k].anonMiB, bin.label+"rss-anon-MiB")
		// The peak is at start-up, when the binary's package initialisers
		// run, before the monitor releases those pages.
		b.ReportMetric(got[k].peakMiB, bin.label+"peak-rss-MiB")
	}
	b.ReportMetric(idlePct, "baseline-pct-core")
}

// procCPU is the process's CPU seconds summed over its threads, in
// nanoseconds from /proc/<pid>/task/*/schedstat (stat's ticks are 10 ms:
// too coarse for a process that runs a few milliseconds a second). Go
// keeps its threads, so none of the time is lost with an exited thread.
func procCPU(b *testing.B, pid int) float64 {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, t := range tasks {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		if f := strings.Fields(string(raw)); len(f) > 0 {
			ns, _ := strconv.ParseFloat(f[0], 64)
			total += ns / 1e9
		}
	}
	return total
}

// procStatus reads a kB field of /proc/<pid>/status in MiB.
func procStatus(b *testing.B, pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return kb / 1024
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// BenchmarkSpikeReaction measures, with the default 1 s interval and real
// cgroups, a real business CPU spike (two busy loops) beside a batch busy
// loop: the time until the batch cgroups are throttled and until the
// master holds a reduced reservation.
func BenchmarkSpikeReaction(b *testing.B) {
	cg := newBatchCgroups(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, err := localmesos.Start(ctx, localmesos.Config{Agents: 1, Resources: "cpus:2;mem:8192", WorkDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	srv := etcdtest.Start(b)
	host := cl.Agents()[0].Hostname()
	res, err := reserver.New(reserver.Config{MasterURL: cl.MasterURL(), Hostname: host, Role: "batch"})
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, 10*time.Second, func() bool { _, err := res.State(ctx); return err == nil })
	if err := os.WriteFile(filepath.Join(cg.dirs[0], "cpu.cfs_quota_us"), []byte("50000"), 0o644); err != nil {
		b.Fatal(err)
	}
	batch := exec.Command("sh", "-c", "while :; do :; done")
	if err := batch.Start(); err != nil {
		b.Fatal(err)
	}
	defer stop(batch)
	cg.join(b, batch.Process.Pid)
	// Default policy but a 5-sample peak window, so that a quiet start is
	// reachable on a shared machine; the reaction to a rise does not
	// depend on the window.
	p := policy.DefaultParams()
	p.PeakWindow = 5
	// The usage rule: with idle-class batch (the default) a busy loop
	// beside two business loops on two cpus gets next to no CPU, which is
	// not contention, and the throttle rightly stays off (10 s timeouts
	// here); this measures how fast a squeeze is throttled.
	p.BatchIdle = false
	m, err := New(Config{
		MasterURL: cl.MasterURL(), AgentHostname: host, EtcdEndpoints: srv.Endpoints,
		CgroupParent: cg.parent, CapacityCPUs: 2, ReconcileInterval: 2 * time.Second,
		Policy: p, Logger: discardLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	mctx, mcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(mctx) }()
	defer func() { mcancel(); <-done }()

	quota := func() int64 {
		v, _ := readCgroupInt(filepath.Join("/sys/fs/cgroup/cpu", cg.parent, "cpu.cfs_quota_us"))
		return v
	}
	reserved := func() float64 {
		st, err := res.State(ctx)
		if err != nil {
			return -1
		}
		return st.Reserved.CPUs
	}
	var toThrottle, toReserve time.Duration
	for i := 0; i < b.N; i++ {
		// A quiet start: unthrottled and a reservation of at least 0.5 cpu
		// (default policy: 2 - 0.2 margin - 0.5 reserve - business).
		if !waitFor(b, 120*time.Second, func() bool { return quota() == -1 && reserved() >= 0.5 }) {
			b.Skipf("host too busy for a spike benchmark: quota %d, reserved %.2f", quota(), reserved())
		}
		quiet := reserved()
		b1, b2 := exec.Command("sh", "-c", "while :; do :; done"), exec.Command("sh", "-c", "while :; do :; done")
		start := time.Now()
		_ = b1.Start()
		_ = b2.Start()
		waitFor(b, 10*time.Second, func() bool { return quota() > 0 })
		toThrottle += time.Since(start)
		waitFor(b, 20*time.Second, func() bool { return reserved() <= quiet-0.4 })
		toReserve += time.Since(start)
		stop(b1)
		stop(b2)
	}
	b.ReportMetric(float64(toThrottle.Milliseconds())/float64(b.N), "ms-to-throttle")
	b.ReportMetric(float64(toReserve.Milliseconds())/float64(b.N), "ms-to-reservation")
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitFor polls cond every 20ms for up to d.
func waitFor(b *testing.B, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
