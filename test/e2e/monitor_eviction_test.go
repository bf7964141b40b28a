package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/monitor"
	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/retry"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// hostFixture is a procfs and cgroup tree a monitor samples instead of the
// real host: the test sets the host's business and batch memory. Every
// other part (monitor loop, policy, operator API, etcd, scheduler, Mesos)
// is real.
type hostFixture struct {
	dir string
	mu  sync.Mutex
}

const fixtureMemTotalMB = 8192

func newHostFixture(t *testing.T) *hostFixture {
	t.Helper()
	h := &hostFixture{dir: t.TempDir()}
	for _, d := range []string{"proc", "cgroup/memory/gleaner", "cgroup/cpuacct/gleaner"} {
		if err := os.MkdirAll(filepath.Join(h.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Static CPU counters: the host looks idle.
	stat := "cpu  1000 0 500 8000 500 0 0 0 0 0\ncpu0 250 0 125 2000 125 0 0 0 0 0\ncpu1 250 0 125 2000 125 0 0 0 0 0\n" +
		"cpu2 250 0 125 2000 125 0 0 0 0 0\ncpu3 250 0 125 2000 125 0 0 0 0 0\nintr 0\nctxt 0\nbtime 0\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n"
	h.write(t, "proc/stat", stat)
	h.write(t, "cgroup/cpuacct/gleaner/cpuacct.usage", "0\n")
	h.write(t, "cgroup/memory/gleaner/memory.stat", "total_inactive_file 0\n")
	h.set(t, 512, 0)
	return h
}

func (h *hostFixture) write(t testing.TB, rel, content string) {
	p := filepath.Join(h.dir, rel)
	if err := os.WriteFile(p+".tmp", []byte(content), 0o644); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Error(err)
	}
}

// set makes the host use businessMB outside the batch cgroups and batchMB
// inside them.
func (h *hostFixture) set(t testing.TB, businessMB, batchMB float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	avail := int64((fixtureMemTotalMB - businessMB - batchMB) * 1024)
	h.write(t, "proc/meminfo", fmt.Sprintf("MemTotal:        %d kB\nMemFree:         %d kB\nMemAvailable:    %d kB\n"+
		"Buffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
		fixtureMemTotalMB*1024, avail, avail))
	h.write(t, "cgroup/memory/gleaner/memory.usage_in_bytes", fmt.Sprintf("%d\n", int64(batchMB)*(1<<20)))
}

// startMonitor runs a real monitor for host on a fixture until the test ends.
func startMonitor(t *testing.T, env *schedEnv, host string, fx *hostFixture) {
	t.Helper()
	p := policy.DefaultParams()
	p.CPU = policy.Rule{MarginFraction: 0.1, SystemReserve: 0.2, Step: 0.3, Persist: 2}
	p.Mem = policy.Rule{MarginFraction: 0, SystemReserve: 0, Step: 64, Persist: 2}
	p.PeakWindow, p.LiftAfter, p.EvictAfter = 3, 2, 1000
	m, err := monitor.New(monitor.Config{
		MasterURL: env.mesos.MasterURL(), AgentHostname: host, Role: "batch",
		Etcd: env.client(), EtcdPrefix: env.prefix, HeartbeatTTL: 2 * time.Second,
		Interval: 200 * time.Millisecond, FastInterval: -1, ReconcileInterval: 400 * time.Millisecond,
		ProcRoot: filepath.Join(fx.dir, "proc"), CgroupRoot: filepath.Join(fx.dir, "cgroup"), CgroupParent: "gleaner",
		NoThrottle: true, CapacityCPUs: 4, CapacityMemMB: 4096, Policy: p, Logger: testLogger(t).With("monitor", host),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// heartbeat reads a monitor's record from etcd.
func heartbeat(t *testing.T, env *schedEnv, host string) (monitor.Status, bool) {
	resp, err := env.client().Get(context.Background(), monitor.HeartbeatKey(env.prefix, host))
	if err != nil || len(resp.Kvs) == 0 {
		return monitor.Status{}, false
	}
	var st monitor.Status
	if err := json.Unmarshal(resp.Kvs[0].Value, &st); err != nil {
		t.Errorf("heartbeat of %s: %v", host, err)
		return monitor.Status{}, false
	}
	return st, true
}

// TestMonitorEvictionRequeuesWithoutRetry: two instances run on host 1
// (host 2 has no monitor yet, and work goes only to hosts with a live
// monitor). Business memory on host 1 spikes: its monitor asks for memory
// back, the scheduler kills the lowest-priority, shortest-running instance
// and requeues it without using a retry (retries: 0), and it finishes on
// host 2, whose monitor has meanwhile come up.
func TestMonitorEvictionRequeuesWithoutRetry(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Simulated: true, Resources: "cpus:4;mem:4096;disk:1024"})
	agents := env.mesos.Agents()
	host1, host2 := agents[0].Hostname(), agents[1].Hostname()
	fx1, fx2 := newHostFixture(t), newHostFixture(t)
	startMonitor(t, env, host1, fx1)
	n, _ := env.startNode("a", func(c *node.Config) {
		c.Framework.RequireMonitor = true
		c.EvictPoll = 500 * time.Millisecond
		c.EvictCooldown = 3 * time.Second
	})
	waitFor(t, "host 1's reservation", 20*time.Second, func() bool {
		st, ok := heartbeat(t, env, host1)
		return ok && st.Reserved.MemMB >= 3000 && st.Reserved.CPUs >= 2
	})
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: gleaned
tasks:
  - name: work
    command: "true"
    instances: 2
    retries: 0
    resources: {cpus: 1, mem: 1024}
    labels: {"localmesos.sim/duration": "4s"}
`))

	// The fixture's batch memory follows what runs on host 1 (1 GiB each),
	// as the batch cgroups would.
	business := 512.0
	var bmu sync.Mutex
	track := func() (running1 int) {
		_, as := status(t, n, j.ID)
		for _, a := range as {
			if a.Hostname == host1 && (a.State == job.AttemptRunning || a.State == job.AttemptLaunching) {
				running1++
			}
		}
		bmu.Lock()
		fx1.set(t, business, float64(running1)*1024)
		bmu.Unlock()
		return running1
	}
	ctx, cancel := context.WithCancel(context.Background())
	tracked := make(chan struct{})
	go func() {
		defer close(tracked)
		for ctx.Err() == nil {
			track()
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	defer func() { cancel(); <-tracked }()

	waitFor(t, "both instances running on host 1", 20*time.Second, func() bool { return track() == 2 })
	startMonitor(t, env, host2, fx2)
	waitFor(t, "host 2's reservation", 20*time.Second, func() bool {
		st, ok := heartbeat(t, env, host2)
		return ok && st.Reserved.MemMB >= 1024
	})

	// Business takes 2.8 GiB of host 1's 4 GiB: batch may keep 1.3 GiB
	// and holds 2 GiB, so the monitor asks for ~750 MB: one instance.
	bmu.Lock()
	business = 2800
	bmu.Unlock()
	track()

	st, as := waitJob(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %s; attempts %+v", st.State, as)
	}
	evicted := map[int]bool{}
	for _, a := range as {
		switch {
		case a.State == job.AttemptSucceeded:
		case a.State == job.AttemptLost && a.Reason == retry.ReasonReclaimed && a.Hostname == host1:
			evicted[a.Index] = true
			if !strings.HasPrefix(a.Message, "reclaimed: memory short") {
				t.Errorf("evicted attempt %s: message %q, want the monitor's reason", a.TaskID(), a.Message)
			}
			if k := retry.FromAttempt(&a, false, 0).Kind; k != retry.Reclaimed {
				t.Errorf("attempt %s classified %v, want reclaimed", a.TaskID(), k)
			}
		default:
			t.Errorf("attempt %s: state %s reason %q on %s", a.TaskID(), a.State, a.Reason, a.Hostname)
		}
	}
	if job.FailedAttempts(as) != 0 {
		t.Fatalf("a retry was consumed: %+v", as)
	}
	if len(evicted) != 1 {
		t.Fatalf("want exactly one instance evicted, got %v: %+v", evicted, as)
	}
	for idx := range evicted {
		var last job.Attempt
		for _, a := range as {
			if a.Index == idx && a.Attempt >= last.Attempt {
				last = a
			}
		}
		if last.State != job.AttemptSucceeded || last.Hostname != host2 {
			t.Fatalf("evicted instance %d ended %s on %s, want succeeded on %s; attempts %+v", idx, last.State, last.Hostname, host2, as)
		}
	}
	// The request was carried out and removed.
	waitFor(t, "the eviction request to be gone", 10*time.Second, func() bool {
		resp, err := env.client().Get(context.Background(), monitor.EvictionKey(env.prefix, host1))
		return err == nil && len(resp.Kvs) == 0
	})
}
