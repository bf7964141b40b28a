package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/monitor/reserver"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// fakeHost is a procfs + cgroup v1 fixture tree whose counters the test
// advances by one second of given usage per tick.
type fakeHost struct {
	t                         *testing.T
	root                      string
	cpus                      int
	memMB                     float64
	user, idle                float64 // ticks
	batchNs                   float64
	busMemMB, batchMemMB      float64
	busCPU, batchCPU          float64 // cores for the next advance
	procRoot, cgRoot, sysRoot string
}

func newFakeHost(t *testing.T, cpus int, memMB float64) *fakeHost {
	h := &fakeHost{t: t, root: t.TempDir(), cpus: cpus, memMB: memMB}
	h.procRoot, h.cgRoot, h.sysRoot = filepath.Join(h.root, "proc"), filepath.Join(h.root, "cgroup"), filepath.Join(h.root, "sys")
	h.write()
	return h
}

func (h *fakeHost) put(rel, v string) {
	p := filepath.Join(h.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) write() {
	var b strings.Builder
	fmt.Fprintf(&b, "cpu  %d 0 0 %d 0 0 0 0 0 0\n", int64(h.user), int64(h.idle))
	for i := 0; i < h.cpus; i++ {
		fmt.Fprintf(&b, "cpu%d 0 0 0 0 0 0 0 0 0 0\n", i)
	}
	h.put("proc/stat", b.String())
	avail := h.memMB - h.busMemMB - h.batchMemMB
	h.put("proc/meminfo", fmt.Sprintf("MemTotal: %d kB\nMemFree: %d kB\nMemAvailable: %d kB\n", int64(h.memMB*1024), int64(avail*1024), int64(avail*1024)))
	h.put("cgroup/cpuacct/gleaner/cpuacct.usage", fmt.Sprintf("%d\n", int64(h.batchNs)))
	h.put("cgroup/memory/gleaner/memory.usage_in_bytes", fmt.Sprintf("%d\n", int64(h.batchMemMB*1024*1024)))
	h.put("cgroup/memory/gleaner/memory.stat", "total_inactive_file 0\n")
}

// advance adds one second of the configured usage.
func (h *fakeHost) advance() {
	busy := (h.busCPU + h.batchCPU) * 100
	h.user += busy
	h.idle += float64(h.cpus)*100 - busy
	h.batchNs += h.batchCPU * 1e9
	h.write()
}

// fakeMaster implements reserver.Reservations in memory with the master's
// rules (only unallocated reserved resources can be unreserved).
type fakeMaster struct {
	mu        sync.Mutex
	total     policy.Resources
	reserved  policy.Resources
	allocated policy.Resources
	ops       []reserver.Op
	down      bool
}

func (f *fakeMaster) State(ctx context.Context) (reserver.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return reserver.State{}, fmt.Errorf("connection refused")
	}
	return reserver.State{
		AgentID: "M-S1", Hostname: "h1", Total: f.total, Reserved: f.reserved,
		Allocated:      policy.Resources{CPUs: math.Min(f.allocated.CPUs, f.reserved.CPUs), MemMB: math.Min(f.allocated.MemMB, f.reserved.MemMB)},
		FreeUnreserved: policy.Resources{CPUs: f.total.CPUs - f.reserved.CPUs, MemMB: f.total.MemMB - f.reserved.MemMB},
	}, nil
}

func (f *fakeMaster) Apply(ctx context.Context, target policy.Resources) (reserver.Result, error) {
	st, err := f.State(ctx)
	if err != nil {
		return reserver.Result{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := reserver.Result{Before: st}
	for _, op := range reserver.Plan(st, target) {
		s := 1.0
		if op.Kind == reserver.Unreserve {
			s = -1
		}
		if op.Name == "cpus" {
			f.reserved.CPUs += s * op.Amount
		} else {
			f.reserved.MemMB += s * op.Amount
		}
		f.ops = append(f.ops, op)
		r.Done = append(r.Done, op)
		r.Partial = r.Partial || op.Partial
	}
	r.Reserved = f.reserved
	return r, nil
}

func (f *fakeMaster) get() (policy.Resources, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reserved, len(f.ops)
}

// fakeThrottle records the cap.
type fakeThrottle struct {
	mu   sync.Mutex
	on   bool
	cpus float64
	sets int
}

func (f *fakeThrottle) Set(c float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.on, f.cpus = true, c
	f.sets++
	return nil
}

func (f *fakeThrottle) Lift() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.on, f.cpus = false, 0
	return nil
}

type rig struct {
	t     *testing.T
	host  *fakeHost
	mst   *fakeMaster
	thr   *fakeThrottle
	etcd  *clientv3.Client
	m     *Monitor
	clock time.Time
	ctx   context.Context
}

func testPolicy() policy.Params {
	p := policy.DefaultParams()
	p.PeakWindow, p.LiftAfter, p.EvictAfter = 2, 1, 2
	p.CPU.Persist, p.Mem.Persist = 2, 2
	p.BatchIdle, p.MemPressureLimit = false, 0 // these tests drive the usage rule
	return p
}

func newRig(t *testing.T, etcd *clientv3.Client, mst *fakeMaster, host *fakeHost) *rig {
	return newRigWith(t, etcd, mst, host, nil)
}

// newRigWith is newRig with the configuration changed by edit first.
func newRigWith(t *testing.T, etcd *clientv3.Client, mst *fakeMaster, host *fakeHost, edit func(*Config)) *rig {
	r := &rig{t: t, host: host, mst: mst, thr: &fakeThrottle{}, etcd: etcd, clock: time.Unix(1_800_000_000, 0), ctx: context.Background()}
	cfg := Config{
		AgentHostname: "h1", EtcdPrefix: "/t/", Listen: "127.0.0.1:0",
		Interval: time.Second, ReconcileInterval: 5 * time.Second,
		ProcRoot: host.procRoot, SysRoot: host.sysRoot, CgroupRoot: host.cgRoot,
		Policy: testPolicy(), Reservations: mst, Throttler: r.thr, Etcd: etcd,
		Logger: testLogger(t),
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return r.clock }
	r.m = m
	r.tick() // primes the counters
	return r
}

// testLogger sends the monitor's logs to the test log (shown on failure).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func (r *rig) tick() Status {
	r.host.advance()
	r.clock = r.clock.Add(time.Second)
	r.m.Tick(r.ctx)
	return r.m.Status()
}

func (r *rig) heartbeat() (Status, bool) {
	resp, err := r.etcd.Get(r.ctx, "/t/monitors/h1")
	if err != nil {
		r.t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return Status{}, false
	}
	var st Status
	if err := json.Unmarshal(resp.Kvs[0].Value, &st); err != nil {
		r.t.Fatal(err)
	}
	if resp.Kvs[0].Lease == 0 {
		r.t.Error("heartbeat is not lease-bound")
	}
	return st, true
}

func (r *rig) eviction() (EvictionRequest, bool) {
	resp, err := r.etcd.Get(r.ctx, "/t/evictions/h1")
	if err != nil {
		r.t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return EvictionRequest{}, false
	}
	var ev EvictionRequest
	if err := json.Unmarshal(resp.Kvs[0].Value, &ev); err != nil {
		r.t.Fatal(err)
	}
	return ev, true
}

func close2(a, b float64) bool { return math.Abs(a-b) < 0.02 }

// TestLadder drives the monitor through quiet → spike → persistent spike →
// memory pressure → quiet on a fixture host (4 cpus, 16384 MB) with a fake
// master and a real etcd.
func TestLadder(t *testing.T) {
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	host := newFakeHost(t, 4, 16384)
	mst := &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}
	r := newRig(t, etcd, mst, host)

	// Quiet: business 0.5 cpu / 2000 MB, batch 1 cpu / 1000 MB.
	// cpu allowance = 4 - 0.4 - 0.5 - 0.5 = 2.6; mem = 16384 - 1638.4 - 2000 - 1024 = 11721.6
	host.busCPU, host.batchCPU, host.busMemMB, host.batchMemMB = 0.5, 1, 2000, 1000
	st := r.tick()
	if res, _ := mst.get(); !close2(res.CPUs, 2.6) || !close2(res.MemMB, 11721) {
		t.Fatalf("quiet: reserved %+v, status %+v", res, st)
	}
	if hb, ok := r.heartbeat(); !ok || !close2(hb.Reserved.CPUs, 2.6) || !close2(hb.Business.CPUs, 0.5) || !close2(hb.Batch.CPUs, 1) || hb.Throttled {
		t.Fatalf("heartbeat %+v %v", hb, ok)
	}
	mst.mu.Lock()
	mst.allocated = policy.Resources{CPUs: 1, MemMB: 1000}
	mst.mu.Unlock()

	// Spike: business 3 cpus. left = 4 - 0.4 - 3 - 0.5 = 0.1 < batch 1 → throttle at once.
	host.busCPU = 3
	st = r.tick()
	if !r.thr.on || !close2(r.thr.cpus, 0.1) || !st.Throttled {
		t.Fatalf("spike: throttle %+v, status %+v", r.thr, st)
	}
	// Target 0.1 but 1 cpu is allocated: only the unused 1.6 is unreserved.
	if res, _ := mst.get(); !close2(res.CPUs, 1.0) {
		t.Fatalf("spike: reserved %+v, want the allocated 1 cpu left", res)
	}
	if _, ok := r.eviction(); ok {
		t.Fatal("evicted at the first spike sample")
	}
	// The spike persists (EvictAfter 2): evict the allocation above the allowance.
	host.batchCPU = 0.1 // throttled
	r.tick()
	ev, ok := r.eviction()
	if !ok || !close2(ev.CPUs, 0.9) || ev.MemMB != 0 || ev.Hostname != "h1" || ev.ID == "" || ev.Reason == "" || ev.RequestedAt.IsZero() {
		t.Fatalf("eviction %+v %v", ev, ok)
	}
	// Pending: no second request, the first one stays.
	r.tick()
	r.tick()
	if ev2, _ := r.eviction(); ev2.ID != ev.ID {
		t.Fatalf("eviction request replaced while pending: %+v", ev2)
	}
	if hb, _ := r.heartbeat(); !hb.EvictionPending {
		t.Errorf("heartbeat does not show the pending eviction: %+v", hb)
	}
	// The scheduler carries it out: the task ends and the key goes.
	mst.mu.Lock()
	mst.allocated = policy.Resources{CPUs: 0, MemMB: 0}
	mst.mu.Unlock()
	host.batchCPU, host.batchMemMB = 0, 0
	if _, err := etcd.Delete(r.ctx, "/t/evictions/h1"); err != nil {
		t.Fatal(err)
	}
	r.clock = r.clock.Add(10 * time.Second) // past the retry delay
	r.tick()
	if res, _ := mst.get(); !close2(res.CPUs, 0.1) {
		t.Fatalf("after eviction: reserved %+v, want the allowance 0.1", res)
	}

	// Memory pressure: business takes 14000 MB while batch holds 1500 MB.
	// left = 16384 - 1638.4 - 14000 - 1024 < 0 → evict all 1500 MB.
	host.busMemMB, host.batchMemMB = 14000, 1500
	r.tick()
	ev, ok = r.eviction()
	if !ok || !close2(ev.MemMB, 1500) {
		t.Fatalf("memory eviction %+v %v", ev, ok)
	}
	if _, err := etcd.Delete(r.ctx, "/t/evictions/h1"); err != nil {
		t.Fatal(err)
	}

	// Load falls: after the peak window the throttle lifts and the
	// reservation grows back.
	host.busCPU, host.busMemMB, host.batchMemMB = 0.5, 2000, 0
	for i := 0; i < 4; i++ {
		r.tick()
	}
	if r.thr.on {
		t.Fatalf("throttle still on after load fell: %+v", r.thr)
	}
	if res, _ := mst.get(); !close2(res.CPUs, 2.6) || !close2(res.MemMB, 11721) {
		t.Fatalf("grow back: reserved %+v", res)
	}

	// /metrics and /healthz.
	runCtx, cancel := context.WithCancel(r.ctx)
	done := make(chan error, 1)
	go func() { done <- r.m.Run(runCtx) }() // serves HTTP; ticks on the real clock too
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if _, ok := r.heartbeat(); ok {
			t.Error("heartbeat still there after a clean stop")
		}
	}()
	body := httpGet(t, "http://"+r.m.Addr().String()+"/metrics")
	for _, name := range []string{"gleaner_monitor_reserved_cpus", "gleaner_monitor_capacity_memory_bytes", "gleaner_monitor_throttled", "gleaner_monitor_evictions_requested_total{hostname=\"h1\",role=\"batch\"} 2", "gleaner_monitor_errors_total"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if got := httpGet(t, "http://"+r.m.Addr().String()+"/healthz"); !strings.Contains(got, "ok") {
		t.Errorf("/healthz %q", got)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestRestartConverges: a second monitor on the same master starts from the
// master's reservation and holds the same value without reserving twice;
// a master outage is reconciled after it ends.
func TestRestartConverges(t *testing.T) {
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	host := newFakeHost(t, 4, 16384)
	host.busCPU, host.busMemMB = 0.5, 2000
	mst := &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}
	r := newRig(t, etcd, mst, host)
	for i := 0; i < 3; i++ {
		r.tick()
	}
	first, nops := mst.get()
	if !close2(first.CPUs, 2.6) {
		t.Fatalf("first monitor reserved %+v", first)
	}
	// Kill it without a shutdown (no lease revoke) and start another.
	r2 := newRig(t, etcd, mst, host)
	for i := 0; i < 5; i++ {
		r2.tick()
		if res, _ := mst.get(); res.CPUs > 4 || res.MemMB > 16384 || res.CPUs > first.CPUs+0.01 {
			t.Fatalf("restart: reserved %+v above the first monitor's %+v", res, first)
		}
	}
	again, n2 := mst.get()
	if !close2(again.CPUs, first.CPUs) || !close2(again.MemMB, first.MemMB) || n2 != nops {
		t.Fatalf("restart changed the reservation: %+v (%d ops) vs %+v (%d ops)", again, n2, first, nops)
	}
	// Master down: errors are counted and shown; back up: reconciled.
	mst.mu.Lock()
	mst.down = true
	mst.mu.Unlock()
	r2.clock = r2.clock.Add(10 * time.Second)
	st := r2.tick()
	if st.LastError == "" || !strings.Contains(st.LastError, "master") {
		t.Fatalf("master outage not reported: %+v", st)
	}
	mst.mu.Lock()
	mst.down, mst.reserved = false, policy.Resources{CPUs: 1, MemMB: 1000} // someone changed it meanwhile
	mst.mu.Unlock()
	r2.tick()
	if res, _ := mst.get(); !close2(res.CPUs, 2.6) {
		t.Fatalf("after the outage: reserved %+v, want 2.6 again", res)
	}
}

func TestConfigErrors(t *testing.T) {
	base := Config{MasterURL: "http://127.0.0.1:5050", AgentHostname: "h", EtcdEndpoints: []string{"http://127.0.0.1:2379"}}
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.MasterURL = "" }, "master"},
		{func(c *Config) { c.AgentHostname = "" }, "agent hostname"},
		{func(c *Config) { c.EtcdEndpoints = nil }, "etcd"},
		{func(c *Config) { c.Role = "*" }, "role"},
		{func(c *Config) { c.Interval = time.Millisecond }, "interval"},
		{func(c *Config) { c.Interval = 5 * time.Second; c.ReconcileInterval = time.Second }, "reconcile interval"},
		{func(c *Config) { c.HeartbeatTTL = 500 * time.Millisecond }, "heartbeat ttl"},
		{func(c *Config) { c.Listen = "nope" }, "listen"},
		{func(c *Config) { c.SecretFile = "/x" }, "principal"},
		{func(c *Config) { c.Policy = policy.DefaultParams(); c.Policy.PeakWindow = 0 }, "peak window"},
		{func(c *Config) { c.SLOProbeURL = "http://127.0.0.1:8080/" }, "slo probe"},
		{func(c *Config) { c.Policy = policy.DefaultParams(); c.Policy.LatencySLOMs = 10 }, "slo probe"},
		{func(c *Config) {
			c.Policy = policy.DefaultParams()
			c.Policy.LatencySLOMs, c.SLOProbeURL = 10, "ftp://h/x"
		}, "slo probe"},
	}
	for _, tc := range cases {
		c := base
		tc.mut(&c)
		if _, err := c.withDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", err, tc.want)
		}
	}
	if _, err := base.withDefaults(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

// TestFastTickThrottles: the cheap reading between samples engages the
// throttle before the next sample.
func TestFastTickThrottles(t *testing.T) {
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	host := newFakeHost(t, 4, 16384)
	host.busCPU, host.batchCPU, host.busMemMB, host.batchMemMB = 0.5, 1, 2000, 1000
	mst := &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}
	r := newRig(t, etcd, mst, host)
	r.tick()
	r.m.FastTick(r.ctx) // primes its counters
	host.advance()
	r.m.FastTick(r.ctx)
	if r.thr.on {
		t.Fatal("throttled while quiet")
	}
	host.busCPU = 3
	host.advance()
	r.m.FastTick(r.ctx)
	if !r.thr.on || !close2(r.thr.cpus, 0.1) || r.thr.sets != 1 {
		t.Fatalf("fast tick did not throttle: %+v", r.thr)
	}
	// The samples keep the cap (following the allowance).
	r.tick()
	r.tick()
	if !r.thr.on || !close2(r.thr.cpus, 0.1) {
		t.Fatalf("after the samples: %+v", r.thr)
	}
}

// TestLeftoverThrottleLifted: a cap left on the batch cgroups by a killed
// monitor is lifted when the next one starts.
func TestLeftoverThrottleLifted(t *testing.T) {
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	host := newFakeHost(t, 4, 16384)
	for _, f := range []string{"cpu/cpu.cfs_quota_us", "cpu/gleaner/cpu.cfs_period_us", "cpu/gleaner/cpu.cfs_quota_us"} {
		v := "100000"
		if strings.HasSuffix(f, "quota_us") {
			v = "-1"
		}
		host.put("cgroup/"+f, v)
	}
	host.put("cgroup/cpu/gleaner/cpu.cfs_quota_us", "30000") // left behind
	m, err := New(Config{
		AgentHostname: "h1", EtcdPrefix: "/t/", Interval: time.Second,
		ProcRoot: host.procRoot, SysRoot: host.sysRoot, CgroupRoot: host.cgRoot,
		Reservations: &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}, Etcd: etcd,
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	quota := func() string {
		b, _ := os.ReadFile(filepath.Join(host.cgRoot, "cpu/gleaner/cpu.cfs_quota_us"))
		return strings.TrimSpace(string(b))
	}
	deadline := time.Now().Add(5 * time.Second)
	for quota() != "-1" {
		if time.Now().After(deadline) {
			t.Fatalf("leftover quota %s not lifted", quota())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The heartbeat is rewritten every third of its lease (10 s here: every
// third sample), not every sample, and at once when a decision changes.
func TestHeartbeatWrites(t *testing.T) {
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	host := newFakeHost(t, 4, 16384)
	r := newRig(t, etcd, &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}, host)
	host.busCPU, host.batchCPU, host.busMemMB, host.batchMemMB = 0.5, 1, 2000, 1000
	rev := func() int64 {
		resp, err := etcd.Get(r.ctx, "/t/monitors/h1")
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("heartbeat: %v, %d keys", err, len(resp.Kvs))
		}
		return resp.Kvs[0].ModRevision
	}
	r.tick()
	first := rev()
	host.batchCPU = 1.2 // usage only: no decision moves
	r.tick()
	r.tick()
	if got := rev(); got != first {
		t.Fatalf("heartbeat rewritten within a third of its lease with no decision changed (revision %d → %d)", first, got)
	}
	r.tick()
	if hb, _ := r.heartbeat(); rev() == first || !close2(hb.Batch.CPUs, 1.2) {
		t.Fatalf("heartbeat not rewritten after a third of its lease: batch %v cpus, want 1.2", hb.Batch.CPUs)
	}
	periodic := rev()
	host.busCPU = 3 // a spike: throttle, smaller target
	r.tick()
	if hb, _ := r.heartbeat(); rev() == periodic || !hb.Throttled {
		t.Fatalf("a throttle did not rewrite the heartbeat at once: %+v", hb)
	}
}
