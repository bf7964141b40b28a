package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildGleaner builds the gleaner binary as `make build` does, skipping the
// test when the tree does not build (another package mid-change).
func buildGleaner(t testing.TB) string {
	return buildBinary(t, "gleaner", "../cmd/gleaner")
}

// buildBinary builds the command in pkg as the tests' binary name.
func buildBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build gleaner: %v\n%s", err, out)
	}
	return bin
}

// TestE2EKillRestart runs the real `gleaner monitor` command: killed with
// SIGKILL, its heartbeat disappears within the lease and the reservation
// stays; a new one converges to the same reservation, never above what
// capacity allows; SIGTERM ends it cleanly and drops the heartbeat at once.
// The first is `gleaner monitor`, the second the slim gleaner-monitor with
// the same command line.
func TestE2EKillRestart(t *testing.T) {
	r := newE2E(t)
	bin, slim := buildGleaner(t), buildBinary(t, "gleaner-monitor", "./cmd/gleaner-monitor")
	args := []string{"monitor", "--master", r.baseCfg.MasterURL, "--agent-hostname", r.host, "--role", "batch",
		"--etcd", r.eps[0], "--etcd-prefix", "/e2e/", "--listen", "127.0.0.1:0",
		"--interval", "500ms", "--reconcile-interval", "1s", "--heartbeat-ttl", "2s",
		"--cgroup-parent", r.cg.parent, "--capacity-cpus", "2",
		"--cpu-margin", "0.1", "--cpu-system-reserve", "0.2", "--cpu-step", "0.3",
		"--mem-margin", "0", "--mem-system-reserve", "0", "--mem-step", "64",
		"--persist", "2", "--peak-window", "3", "--lift-after", "2", "--log-level", "warn"}
	start := func(bin string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stop(cmd) })
		return cmd
	}
	heartbeat := func() (Status, bool) {
		resp, err := r.etcd.Get(context.Background(), HeartbeatKey("/e2e/", r.host))
		if err != nil || len(resp.Kvs) == 0 {
			return Status{}, false
		}
		var st Status
		if err := json.Unmarshal(resp.Kvs[0].Value, &st); err != nil {
			t.Fatal(err)
		}
		return st, true
	}
	business := func() float64 {
		st, ok := heartbeat()
		if !ok {
			return 99
		}
		return st.Business.CPUs
	}

	first := start(bin)
	awaitQuietBy(t, business, 10*time.Second, 90*time.Second, "first monitor reserves", func() (bool, string) {
		_, ok := heartbeat()
		c := r.reserved(t).CPUs
		return ok && c >= 1.0, fmt.Sprintf("heartbeat %v, reserved %.2f", ok, c)
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	before := r.reserved(t)
	killed := time.Now()
	await(t, 10*time.Second, "heartbeat gone after the kill", func() (bool, string) {
		_, ok := heartbeat()
		return !ok, "still there"
	})
	t.Logf("heartbeat gone %v after SIGKILL (lease 2s)", time.Since(killed).Round(10*time.Millisecond))
	if after := r.reserved(t); after != before {
		t.Fatalf("reservation changed with no monitor: %+v → %+v", before, after)
	}

	second := start(slim)
	var mu sync.Mutex
	var above error
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if st, err := r.res.State(ctx); err == nil && st.Reserved.CPUs > 1.6+1e-6 {
				mu.Lock()
				above = fmt.Errorf("reserved %+v above 1.6 cpus", st.Reserved)
				mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	awaitQuietBy(t, business, 10*time.Second, 90*time.Second, "restarted monitor converges", func() (bool, string) {
		got := r.reserved(t)
		_, ok := heartbeat()
		return ok && math.Abs(got.CPUs-before.CPUs) <= 0.35, fmt.Sprintf("heartbeat %v, reserved %+v, before %+v", ok, got, before)
	})
	cancel()
	mu.Lock()
	if above != nil {
		t.Fatal(above)
	}
	mu.Unlock()

	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("monitor exit after SIGTERM: %v", err)
	}
	if _, ok := heartbeat(); ok {
		t.Fatal("heartbeat still there after SIGTERM (lease not revoked)")
	}
}
