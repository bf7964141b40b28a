package colocation

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
)

var (
	interferenceRounds = flag.Int("colocation.interference", 0, "TestInterference: rounds of the CPU-per-request micro-measurement (0: skip; 3 take about a minute)")
	interferenceRate   = flag.Float64("colocation.interference-rate", 300, "TestInterference: business requests per second (fixed)")
	interferenceSecs   = flag.Float64("colocation.interference-seconds", 4, "TestInterference: seconds per condition and round")
)

// coRunner is one condition of TestInterference: what runs beside the
// business service, which is pinned to cpu 0 (the load generator to cpu 1).
type coRunner struct {
	name string
	desc string
	cfg  *IdleBatchConfig // nil: nothing
}

// TestInterference measures the business service's CPU time per request
// (its cgroup's cpuacct over the requests answered) at a fixed moderate
// rate, with the service pinned to cpu 0 and the load generator (this
// process) to cpu 1: alone; beside one SCHED_IDLE busy loop on the OTHER
// cpu; beside the SCHED_IDLE memory-streaming dd on the other cpu; beside
// one SCHED_IDLE busy loop on the SAME cpu. The conditions alternate, in a
// rotated order, for -colocation.interference rounds; it prints every round
// and the medians. A co-runner on the other cpu shares no run queue with the
// service: whatever it adds to the service's CPU per request is the
// hardware's (shared caches, memory bandwidth, the host's SMT sibling and
// frequency), which no scheduling policy removes. Run it on a calm host:
//
//	go test -count=1 -run TestInterference ./test/colocation/ -colocation.interference 3
func TestInterference(t *testing.T) {
	if *interferenceRounds <= 0 {
		t.Skip("a measurement: run with -colocation.interference N")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: cgroups")
	}
	rootfstest.Require(t) // same host requirements as the harness
	ncpu := runtime.NumCPU()
	if ncpu < 2 {
		t.Skip("needs 2 cpus")
	}
	root := "/sys/fs/cgroup"
	if NewCgroup(root, "x").V2 {
		t.Skip("pins with v1 cpuset cgroups")
	}
	h := &harness{t: t, ncpu: ncpu, cgroupRoot: root}
	h.startService()
	pid := os.Getpid()
	// The service on cpu 0, this process (the load generator) on cpu 1.
	pinCpuset(t, root, fmt.Sprintf("colocation-business-%d", pid), "0", readProcs(t, filepath.Join(root, "cpuacct", h.business.Name)))
	pinCpuset(t, root, fmt.Sprintf("colocation-loadgen-%d", pid), "1", []string{fmt.Sprint(pid)})

	name := func(c string) string { return fmt.Sprintf("colocation-interference-%s-%d", c, pid) }
	conds := []coRunner{
		{name: "alone", desc: "nothing beside the service"},
		{name: "spin-other", desc: "one SCHED_IDLE busy loop on the other cpu", cfg: &IdleBatchConfig{Loops: 1, CPUs: "1"}},
		{name: "dd-other", desc: "the SCHED_IDLE dd (256 MiB blocks) on the other cpu", cfg: &IdleBatchConfig{MemoryTask: true, CPUs: "1"}},
		{name: "spin-same", desc: "one SCHED_IDLE busy loop on the service's cpu", cfg: &IdleBatchConfig{Loops: 1, CPUs: "0"}},
	}
	type meas struct{ cpuMs, p50, p99, coCPUs, others, steal float64 }
	got := map[string][]meas{}
	d := time.Duration(*interferenceSecs * float64(time.Second))
	tr := Trace{Duration: d, Low: *interferenceRate, Peak: *interferenceRate}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	h.attack(NewPacer(Trace{Duration: time.Second, Low: *interferenceRate, Peak: *interferenceRate})) // warm-up
	for r := 0; r < *interferenceRounds; r++ {
		for k := range conds {
			c := conds[(k+r)%len(conds)]
			var co *IdleBatch
			if c.cfg != nil {
				cfg := *c.cfg
				cfg.Root, cfg.Name = root, name(c.name)
				var err error
				if co, err = StartIdleBatch(cfg); err != nil {
					t.Fatal(err)
				}
			}
			cpu0, co0, t0, self0, host0 := h.business.CPUSeconds(), 0.0, time.Now(), selfCPUSeconds(), readHostCPU(t)
			if co != nil {
				co0 = co.CPUSeconds()
			}
			reqs := h.attack(NewPacer(tr))
			m := meas{}
			wall, host1 := time.Since(t0).Seconds(), readHostCPU(t)
			var coSecs float64
			if co != nil {
				coSecs = co.CPUSeconds() - co0
				m.coCPUs = coSecs / wall
				if err := co.Stop(); err != nil {
					t.Fatal(err)
				}
			}
			// The other users of the host over the round: busy CPU that is
			// neither the service, the co-runner nor this process.
			m.others = max(host1.busy-host0.busy-(h.business.CPUSeconds()-cpu0)-coSecs-(selfCPUSeconds()-self0), 0) / wall
			m.steal = (host1.steal - host0.steal) / wall
			ok := 0
			var lat []time.Duration
			for _, q := range reqs {
				if q.OK {
					ok++
					lat = append(lat, q.Latency)
				}
			}
			if ok < len(reqs)*9/10 || ok == 0 {
				t.Fatalf("%s: %d of %d requests answered", c.name, ok, len(reqs))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			m.cpuMs = (h.business.CPUSeconds() - cpu0) / float64(ok) * 1e3
			m.p50, m.p99 = ms(Percentile(lat, 0.5)), ms(Percentile(lat, 0.99))
			got[c.name] = append(got[c.name], m)
			t.Logf("round %d %-10s: %d requests, service %.3f ms CPU/request, p50 %.2f ms, p99 %.2f ms, co-runner %.2f cpus, other users %.2f cpus, steal %.2f cpus",
				r+1, c.name, ok, m.cpuMs, m.p50, m.p99, m.coCPUs, m.others, m.steal)
		}
	}
	// Medians over the calm rounds only: a round in which other users
	// took more than quietOthers of the host measured them, not the
	// co-runner (they share the service's cpu and starve the idle-class
	// co-runner). The kernel's softirq time of the loopback traffic counts
	// as "other" too: about 0.1 cpus at 300 req/s on a quiet host.
	const quietOthers = 0.25
	med := func(ms []meas, f func(meas) float64) (float64, int) {
		var v []float64
		for _, m := range ms {
			if m.others <= quietOthers {
				v = append(v, f(m))
			}
		}
		if len(v) == 0 {
			return 0, 0
		}
		sort.Float64s(v)
		return v[len(v)/2], len(v)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "interference: %d rounds of %v at %.0f req/s, service on cpu 0, load generator on cpu 1; medians of the rounds with other users under %.2f cpus:\n",
		*interferenceRounds, d, *interferenceRate, quietOthers)
	alone, _ := med(got["alone"], func(m meas) float64 { return m.cpuMs })
	for _, c := range conds {
		cpu, n := med(got[c.name], func(m meas) float64 { return m.cpuMs })
		if n == 0 {
			fmt.Fprintf(&sb, "  %-10s no calm round (other users were busy): no figure\n", c.name)
			continue
		}
		p50, _ := med(got[c.name], func(m meas) float64 { return m.p50 })
		p99, _ := med(got[c.name], func(m meas) float64 { return m.p99 })
		co, _ := med(got[c.name], func(m meas) float64 { return m.coCPUs })
		steal, _ := med(got[c.name], func(m meas) float64 { return m.steal })
		fmt.Fprintf(&sb, "  %-10s CPU/request %.3f ms (×%s alone)  p50 %.2f ms  p99 %.2f ms  co-runner %.2f cpus  steal %.2f cpus  (%d calm rounds) — %s\n",
			c.name, cpu, fmtRatio(ratio(cpu, alone)), p50, p99, co, steal, n, c.desc)
	}
	fmt.Print(sb.String())
}

// pinCpuset makes a v1 cpuset cgroup confined to cpus, moves pids into it,
// and on cleanup moves whatever is left back to the root cpuset and
// removes it.
func pinCpuset(t *testing.T, root, name, cpus string, pids []string) string {
	t.Helper()
	dir := filepath.Join(root, "cpuset", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range readProcs(t, dir) {
			_ = os.WriteFile(filepath.Join(root, "cpuset", "cgroup.procs"), []byte(p), 0o644)
		}
		_ = os.Remove(dir)
	})
	mems, err := os.ReadFile(filepath.Join(root, "cpuset", "cpuset.mems"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"cpuset.mems", strings.TrimSpace(string(mems))}, {"cpuset.cpus", cpus}} {
		if err := os.WriteFile(filepath.Join(dir, kv[0]), []byte(kv[1]), 0o644); err != nil {
			t.Fatalf("%s %s: %v", name, kv[0], err)
		}
	}
	for _, p := range pids {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(p), 0o644); err != nil {
			t.Fatalf("move %s into %s: %v", p, dir, err)
		}
	}
	return dir
}

// hostCPU is the host's busy and stolen CPU-seconds (/proc/stat).
type hostCPU struct{ busy, steal float64 }

func readHostCPU(t *testing.T) hostCPU {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		t.Fatalf("/proc/stat: unexpected first line %q", line)
	}
	var v [8]float64
	for i := range v {
		x, err := strconv.ParseFloat(f[i+1], 64)
		if err != nil {
			t.Fatalf("/proc/stat %q: %v", line, err)
		}
		v[i] = x / 100 // USER_HZ
	}
	return hostCPU{busy: v[0] + v[1] + v[2] + v[5] + v[6], steal: v[7]}
}

func readProcs(t *testing.T, dir string) []string {
	raw, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		t.Logf("%s: %v", dir, err)
	}
	return strings.Fields(string(raw))
}
