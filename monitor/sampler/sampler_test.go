package sampler

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/monitor/policy"
)

func fixture(t *testing.T, name string) Config {
	t.Helper()
	dir := filepath.Join("..", "testdata", name)
	return Config{ProcRoot: filepath.Join(dir, "proc"), SysRoot: filepath.Join(dir, "sys"), CgroupRoot: filepath.Join(dir, "cgroup")}
}

func read(t *testing.T, cfg Config) Counters {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Golden values of the fixture trees (see testdata): 4 cpus, 8192 MB; over
// the interval 3 cpus busy, of which the batch cgroup used 2.5 cpu-seconds
// and the executor outside it 0.5 (50 ticks) over 2 s of wall time; memory
// 4096 MB used, batch = 1536 MB usage - 512 MB inactive file + executor RSS
// (25600 pages). The executor inside the batch cgroup and the scheduler
// process are not counted again.
func TestFixtures(t *testing.T) {
	rssMB := 25600 * float64(os.Getpagesize()) / (1 << 20)
	want := Sample{
		Capacity:  policy.Resources{CPUs: 4, MemMB: 8192},
		Used:      policy.Resources{CPUs: 3, MemMB: 4096},
		Batch:     policy.Resources{CPUs: 1.5, MemMB: 1024 + rssMB},
		Business:  policy.Resources{CPUs: 1.5, MemMB: 4096 - 1024 - rssMB},
		Executors: 1,
	}
	for _, v := range []string{"v1", "v2"} {
		t.Run(v, func(t *testing.T) {
			c0, c1 := read(t, fixture(t, v+"-t0")), read(t, fixture(t, v+"-t1"))
			if !c1.CgroupFound {
				t.Fatal("batch cgroup not found in fixture")
			}
			got := Compute(c0, c1)
			got.Time = time.Time{}
			if !sameSample(got, want) {
				t.Errorf("sample\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// NewExecutor hears of each executor outside the batch cgroups once, not
// of the one inside them nor of other processes, and not again on the next
// scan.
func TestNewExecutorOnce(t *testing.T) {
	for _, v := range []string{"v1", "v2"} {
		t.Run(v, func(t *testing.T) {
			var got []int
			cfg := fixture(t, v+"-t0")
			cfg.NewExecutor = func(pid int) { got = append(got, pid) }
			cfg.ProcScanInterval = time.Nanosecond
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if _, err := s.Read(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != 1 {
				t.Fatalf("NewExecutor called for %v over three scans; want the one executor outside the batch cgroups once", got)
			}
		})
	}
}

func sameSample(a, b Sample) bool {
	eq := func(x, y policy.Resources) bool {
		return math.Abs(x.CPUs-y.CPUs) < 1e-9 && math.Abs(x.MemMB-y.MemMB) < 1e-9
	}
	return eq(a.Capacity, b.Capacity) && eq(a.Used, b.Used) && eq(a.Batch, b.Batch) &&
		eq(a.Business, b.Business) && a.Executors == b.Executors
}

func TestComputeClamps(t *testing.T) {
	prev := Counters{NumCPU: 2, HostTotal: 100, HostIdle: 50, BatchCPU: 10, MemTotal: 1 << 30}
	// batch counters larger than host busy time (clock skew, exited tasks):
	// batch is clamped to used, business to zero.
	cur := Counters{NumCPU: 2, HostTotal: 102, HostIdle: 51, BatchCPU: 20, MemTotal: 1 << 30, MemUsed: 1 << 29, BatchMem: 1 << 30}
	s := Compute(prev, cur)
	if s.Used.CPUs != 1 || s.Batch.CPUs != 1 || s.Business.CPUs != 0 {
		t.Errorf("cpu %+v %+v %+v", s.Used, s.Batch, s.Business)
	}
	if s.Batch.MemMB != 512 || s.Business.MemMB != 0 {
		t.Errorf("mem batch %v business %v", s.Batch.MemMB, s.Business.MemMB)
	}
	// no elapsed cpu time: zero rates, no division by zero
	s = Compute(cur, cur)
	if s.Used.CPUs != 0 || math.IsNaN(s.Batch.CPUs) {
		t.Errorf("zero interval gave %+v", s)
	}
}

func TestMissingBatchCgroupIsZero(t *testing.T) {
	cfg := fixture(t, "v1-t0")
	cfg.CgroupParent = "not-there"
	c := read(t, cfg)
	if c.CgroupFound || c.BatchMem == 0 {
		// BatchMem still has the executor's RSS
		t.Errorf("found %v batch mem %d", c.CgroupFound, c.BatchMem)
	}
}

func TestBadConfig(t *testing.T) {
	if _, err := New(Config{ProcRoot: t.TempDir()}); err == nil {
		t.Error("accepted a proc root without stat")
	}
	if _, err := New(Config{CgroupParent: "../etc"}); err == nil {
		t.Error("accepted a cgroup parent with ..")
	}
}

// TestLiveHost samples this machine: a busy child process must show up as
// used CPU.
func TestLiveHost(t *testing.T) {
	s, err := New(Config{CgroupParent: "gleaner-sampler-test-absent"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, ok, err := s.Sample(ctx); err != nil || ok {
		t.Fatalf("first sample primes: ok %v err %v", ok, err)
	}
	burn := exec.Command("sh", "-c", "while :; do :; done")
	if err := burn.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = burn.Process.Kill(); _ = burn.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		smp, ok, err := s.Sample(ctx)
		if err != nil || !ok {
			t.Fatalf("sample: ok %v err %v", ok, err)
		}
		if smp.Capacity.CPUs < 1 || smp.Capacity.MemMB <= 0 || smp.Used.MemMB <= 0 {
			t.Fatalf("implausible sample %+v", smp)
		}
		if smp.Business.CPUs >= 0.5 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a busy loop never showed as business cpu; last %+v", smp)
		}
	}
}

// TestFastCPU: the between-samples reading on the fixtures counts the batch
// cgroup only (2.5 cpu-seconds over 2 s), not the executor process.
func TestFastCPU(t *testing.T) {
	for _, v := range []string{"v1", "v2"} {
		s0, err := New(fixture(t, v+"-t0"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, ok, err := s0.CPU(context.Background()); ok || err != nil {
			t.Fatalf("%s: first reading ok %v err %v", v, ok, err)
		}
		s1, err := New(fixture(t, v+"-t1"))
		if err != nil {
			t.Fatal(err)
		}
		s1.fast = s0.fast
		capacity, used, batch, ok, err := s1.CPU(context.Background())
		if err != nil || !ok || capacity != 4 || math.Abs(used-3) > 1e-9 || math.Abs(batch-1.25) > 1e-9 {
			t.Errorf("%s: cpu %v %v %v %v %v, want 4 3 1.25", v, capacity, used, batch, ok, err)
		}
	}
}
