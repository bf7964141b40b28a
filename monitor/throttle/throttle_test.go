package throttle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func put(t *testing.T, path, v string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(v+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// v1Tree makes a plain-file imitation of a v1 cpu hierarchy: the parent and
// two task cgroups, one capped at 1.5 cpus and one uncapped.
func v1Tree(t *testing.T, root string) (parent, capped, uncapped string) {
	put(t, filepath.Join(root, "cpu", "cpu.cfs_quota_us"), "-1")
	parent = filepath.Join(root, "cpu", "gleaner")
	capped = filepath.Join(parent, "task-a")
	uncapped = filepath.Join(parent, "task-b")
	for _, d := range []string{parent, capped, uncapped} {
		put(t, filepath.Join(d, "cpu.cfs_period_us"), "100000")
		put(t, filepath.Join(d, "cpu.cfs_quota_us"), "-1")
	}
	put(t, filepath.Join(capped, "cpu.cfs_quota_us"), "150000")
	return
}

func TestV1Fixture(t *testing.T) {
	root := t.TempDir()
	parent, capped, uncapped := v1Tree(t, root)
	c, err := NewCgroup(root, "gleaner")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do                   func() error
		parent, capped, free string
		cpus                 float64
		on                   bool
	}{
		{func() error { return c.Set(0.5) }, "50000", "50000", "-1", 0.5, true},
		{func() error { return c.Set(1.0) }, "100000", "100000", "-1", 1.0, true},
		{func() error { return c.Set(2.0) }, "200000", "150000", "-1", 2.0, true},
		{func() error { return c.Set(0.25) }, "25000", "25000", "-1", 0.25, true},
		{c.Lift, "-1", "150000", "-1", 0, false},
		{c.Lift, "-1", "150000", "-1", 0, false},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := []string{get(t, filepath.Join(parent, "cpu.cfs_quota_us")), get(t, filepath.Join(capped, "cpu.cfs_quota_us")), get(t, filepath.Join(uncapped, "cpu.cfs_quota_us"))}
		if want := []string{s.parent, s.capped, s.free}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("step %d: quotas parent/capped/uncapped %v, want %v", i, got, want)
		}
		cpus, on, err := c.Current()
		if err != nil || on != s.on || (on && cpus != s.cpus) {
			t.Errorf("step %d: current %v %v %v, want %v %v", i, cpus, on, err, s.cpus, s.on)
		}
	}
}

func TestV2Fixture(t *testing.T) {
	root := t.TempDir()
	put(t, filepath.Join(root, "cgroup.controllers"), "cpu memory")
	put(t, filepath.Join(root, "gleaner", "cpu.max"), "max 100000")
	c, err := NewCgroup(root, "gleaner")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(1.5); err != nil {
		t.Fatal(err)
	}
	if got := get(t, filepath.Join(root, "gleaner", "cpu.max")); got != "150000 100000" {
		t.Errorf("cpu.max %q", got)
	}
	if cpus, on, _ := c.Current(); !on || cpus != 1.5 {
		t.Errorf("current %v %v", cpus, on)
	}
	if err := c.Lift(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, filepath.Join(root, "gleaner", "cpu.max")); got != "max" {
		t.Errorf("cpu.max after lift %q", got)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := NewCgroup(t.TempDir(), "gleaner"); err == nil {
		t.Error("accepted a root without cgroups")
	}
	if _, err := NewCgroup("/sys/fs/cgroup", "../x"); err == nil {
		t.Error("accepted a parent with ..")
	}
	root := t.TempDir()
	v1Tree(t, root)
	c, _ := NewCgroup(root, "gleaner")
	if err := c.Set(0); err == nil {
		t.Error("accepted 0 cpus")
	}
}

// TestRealCgroupV1 throttles a real cgroup with a capped child, which the
// kernel only allows once the child is lowered first.
func TestRealCgroupV1(t *testing.T) {
	root := "/sys/fs/cgroup"
	parentName := fmt.Sprintf("gleaner-throttle-test-%d", os.Getpid())
	dir := filepath.Join(root, "cpu", parentName)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cgroup v1 cpu not writable here: %v", err)
	}
	child := filepath.Join(dir, "task-1")
	t.Cleanup(func() { os.Remove(child); os.Remove(dir) })
	if err := os.Mkdir(child, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := write(filepath.Join(child, "cpu.cfs_quota_us"), "150000"); err != nil {
		t.Fatal(err)
	}
	c, err := NewCgroup(root, parentName)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(0.5); err != nil {
		t.Fatalf("set 0.5 over a child capped at 1.5: %v", err)
	}
	if got := get(t, filepath.Join(dir, "cpu.cfs_quota_us")); got != "50000" {
		t.Errorf("parent quota %s", got)
	}
	if err := c.Set(1.2); err != nil {
		t.Fatal(err)
	}
	if err := c.Lift(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, filepath.Join(child, "cpu.cfs_quota_us")); got != "150000" {
		t.Errorf("child quota not restored: %s", got)
	}
	if got := get(t, filepath.Join(dir, "cpu.cfs_quota_us")); got != "-1" {
		t.Errorf("parent quota after lift %s", got)
	}
}
