package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func fixtureV1(t *testing.T, memsw bool) string {
	root := t.TempDir()
	for _, c := range []string{"cpu", "cpuacct", "memory", "pids"} {
		if err := os.MkdirAll(filepath.Join(root, c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if memsw {
		d := filepath.Join(root, "memory/gleaner/t1")
		_ = os.MkdirAll(d, 0o755)
		_ = os.WriteFile(filepath.Join(d, "memory.memsw.limit_in_bytes"), []byte("9223372036854771712\n"), 0o644)
	}
	return root
}

func TestV1FixtureLimits(t *testing.T) {
	root := fixtureV1(t, true)
	if v, err := Detect(root); err != nil || v != V1 {
		t.Fatalf("detect: %v %v", v, err)
	}
	m, err := New(Config{Root: root}, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Set(Resources{CPUs: 0.2, HardCap: true, MemoryBytes: 64 << 20, Pids: 100}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"cpu/gleaner/t1/cpu.cfs_quota_us":               "20000",
		"cpu/gleaner/t1/cpu.cfs_period_us":              "100000",
		"memory/gleaner/t1/memory.limit_in_bytes":       "67108864",
		"memory/gleaner/t1/memory.memsw.limit_in_bytes": "67108864",
		"pids/gleaner/t1/pids.max":                      "100",
	} {
		if got := read(t, filepath.Join(root, p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	m2, _ := New(Config{Root: root, Parent: "batch"}, "t2")
	if err := m2.Set(Resources{CPUs: 1.5}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "cpu/batch/t2/cpu.shares")); got != "1536" {
		t.Errorf("shares %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "memory/batch/t2/memory.memsw.limit_in_bytes")); err == nil {
		t.Error("memsw written where the kernel has none")
	}
	// Stats from fixture files.
	d := filepath.Join(root, "memory/gleaner/t1")
	_ = os.WriteFile(filepath.Join(d, "memory.max_usage_in_bytes"), []byte("1234\n"), 0o644)
	_ = os.WriteFile(filepath.Join(d, "memory.oom_control"), []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"), 0o644)
	_ = os.WriteFile(filepath.Join(root, "cpuacct/gleaner/t1/cpuacct.usage"), []byte("2500000000\n"), 0o644)
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.MemoryPeak != 1234 || s.OOMKills != 2 || s.CPUSeconds != 2.5 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := New(Config{Root: root}, "../x"); err == nil {
		t.Fatal("name with a slash accepted")
	}
}

func TestV2FixtureLimits(t *testing.T) {
	root := t.TempDir()
	_ = os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644)
	m, err := New(Config{Root: root}, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Set(Resources{CPUs: 0.5, HardCap: true, MemoryBytes: 1 << 20, Pids: 7}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "gleaner/t1/cpu.max")); got != "50000 100000" {
		t.Errorf("cpu.max %q", got)
	}
	if got := read(t, filepath.Join(root, "gleaner/t1/memory.max")); got != "1048576" {
		t.Errorf("memory.max %q", got)
	}
	if err := m.Set(Resources{CPUs: 1}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "gleaner/t1/cpu.weight")); got != "39" {
		t.Errorf("cpu.weight %q", got)
	}
	_ = os.WriteFile(filepath.Join(root, "gleaner/t1/memory.events"), []byte("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n"), 0o644)
	_ = os.WriteFile(filepath.Join(root, "gleaner/t1/cpu.stat"), []byte("usage_usec 1500000\nuser_usec 1\n"), 0o644)
	s, _ := m.Stats()
	if s.OOMKills != 1 || s.CPUSeconds != 1.5 {
		t.Fatalf("stats %+v", s)
	}
}

// RealRoot returns the host cgroup root when this process may create cgroups there.
func realRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("real cgroups need root")
	}
	if _, err := Detect(DefaultRoot); err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	probe := filepath.Join(DefaultRoot, "memory", "gleaner-probe")
	if v, _ := Detect(DefaultRoot); v == V2 {
		probe = filepath.Join(DefaultRoot, "gleaner-probe")
	}
	if err := os.Mkdir(probe, 0o755); err != nil && !os.IsExist(err) {
		t.Skipf("cgroups not writable: %v", err)
	}
	_ = os.Remove(probe)
	return DefaultRoot
}

func TestRealCgroup(t *testing.T) {
	root := realRoot(t)
	m, err := New(Config{Root: root, Parent: "gleaner-test"}, "real-"+time.Now().Format("150405.000000"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Destroy()
	if err := m.Set(Resources{CPUs: 0.5, HardCap: true, MemoryBytes: 32 << 20, Pids: 50}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if err := m.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	pids, err := m.Procs()
	if err != nil || len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Fatalf("procs %v %v", pids, err)
	}
	cg, _ := os.ReadFile("/proc/" + itoa(cmd.Process.Pid) + "/cgroup")
	if !strings.Contains(string(cg), "gleaner-test/real-") {
		t.Fatalf("process not in the cgroup: %s", cg)
	}
	if _, err := m.Stats(); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for _, p := range m.Paths() {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s left behind", p)
		}
	}
}

func itoa(i int) string { return fmtInt(i) }

// TestRealV1CappedParent: while the batch parent is capped (the monitor's
// throttle), a task's larger quota is refused by the kernel with EINVAL; Set
// still succeeds (the task inherits the parent's cap), and the intended quota
// is applied by ReapplyCPU once the parent is lifted.
func TestRealV1CappedParent(t *testing.T) {
	root := realRoot(t)
	if v, _ := Detect(root); v != V1 {
		t.Skip("the parent-cap EINVAL is a cgroup v1 rule")
	}
	parent := "gleaner-test-cap-" + time.Now().Format("150405.000000")
	pdir := filepath.Join(root, "cpu", parent)
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Skipf("cpu controller not writable: %v", err)
	}
	if _, err := os.Stat(filepath.Join(pdir, "cpu.cfs_quota_us")); err != nil {
		_ = os.Remove(pdir)
		t.Skipf("no cfs quota: %v", err)
	}
	defer func() {
		for _, c := range v1Controllers {
			_ = os.Remove(filepath.Join(root, c, parent))
		}
	}()
	if err := os.WriteFile(filepath.Join(pdir, "cpu.cfs_quota_us"), []byte("10000"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Root: root, Parent: parent}, "task")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Destroy()
	cdir := filepath.Join(pdir, "task")
	// Proof the kernel refuses a child quota above the parent's.
	if err := os.WriteFile(filepath.Join(cdir, "cpu.cfs_quota_us"), []byte("50000"), 0o644); err == nil {
		t.Skip("this kernel accepts a child quota above its parent's")
	}
	if err := m.Set(Resources{CPUs: 0.5, HardCap: true, MemoryBytes: 32 << 20}); err != nil {
		t.Fatalf("set under a capped parent: %v", err)
	}
	if got := read(t, filepath.Join(cdir, "cpu.cfs_quota_us")); got != "-1" {
		t.Fatalf("quota under a capped parent = %s, want -1 (inherit)", got)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := m.AddProc(cmd.Process.Pid); err != nil {
		t.Fatalf("launch into the cgroup: %v", err)
	}
	if pending, err := m.ReapplyCPU(); err != nil || !pending {
		t.Fatalf("reapply while capped: pending=%v err=%v, want pending", pending, err)
	}
	if err := os.WriteFile(filepath.Join(pdir, "cpu.cfs_quota_us"), []byte("-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pending, err := m.ReapplyCPU(); err != nil || pending {
		t.Fatalf("reapply after lift: pending=%v err=%v", pending, err)
	}
	if got := read(t, filepath.Join(cdir, "cpu.cfs_quota_us")); got != "50000" {
		t.Fatalf("quota after lift = %s, want 50000", got)
	}
	if pending, err := m.ReapplyCPU(); err != nil || pending {
		t.Fatalf("second reapply: pending=%v err=%v", pending, err)
	}
}
