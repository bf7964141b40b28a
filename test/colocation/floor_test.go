package colocation

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleBatch starts the floor scenario's batch on the real host: the
// cgroup is idle-class, pinned when asked, its processes run and are
// counted, and Stop leaves nothing behind.
func TestIdleBatch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: cgroups")
	}
	root := "/sys/fs/cgroup"
	last := strconv.Itoa(runtime.NumCPU() - 1)
	name := fmt.Sprintf("colocation-idle-batch-test-%d", os.Getpid())
	b, err := StartIdleBatch(IdleBatchConfig{Root: root, Name: name, Loops: 1, MemoryTask: true, CPUs: last})
	if err != nil {
		if strings.Contains(err.Error(), "cpu.idle") {
			t.Skipf("kernel without cpu.idle: %v", err)
		}
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = b.Stop()
		}
	}()
	if b.Procs() != 2 {
		t.Fatalf("%d processes, want 2 (a loop and the dd)", b.Procs())
	}
	idleFile := filepath.Join(root, "cpu", name, "cpu.idle")
	if b.cg.V2 {
		idleFile = filepath.Join(root, name, "cpu.idle")
	}
	if v, err := os.ReadFile(idleFile); err != nil || strings.TrimSpace(string(v)) != "1" {
		t.Fatalf("%s = %q (%v), want 1", idleFile, v, err)
	}
	for _, p := range b.procs {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(st), "Cpus_allowed_list:\t"+last+"\n") {
			t.Errorf("pid %d not confined to cpu %s:\n%s", p.Process.Pid, last, st)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.CPUSeconds() < 0.05 {
		if time.Now().After(deadline) {
			t.Fatalf("batch cgroup used %.3f cpu-s in 10 s", b.CPUSeconds())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped = true
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, d := range append(b.cg.dirs(), b.cpuset) {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left after Stop (%v)", d, err)
		}
	}
	if _, err := StartIdleBatch(IdleBatchConfig{Root: root, Name: "../x", Loops: 1}); err == nil {
		t.Error("a cgroup name with a path: want an error")
	}
}
