package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRoot lays out a cgroup root: v1 (a cpu controller directory) or v2
// (cgroup.controllers), with or without cpu.idle in the parent.
func fakeRoot(t *testing.T, v2, withIdle bool) (root, dir string) {
	t.Helper()
	root = t.TempDir()
	dir = filepath.Join(root, "cpu", "batch")
	top := filepath.Join(root, "cpu")
	if v2 {
		dir, top = filepath.Join(root, "batch"), root
		writeT(t, filepath.Join(root, "cgroup.controllers"), "cpu memory")
	} else {
		writeT(t, filepath.Join(top, "cpu.shares"), "1024")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if withIdle {
		writeT(t, filepath.Join(dir, "cpu.idle"), "0")
	}
	return root, dir
}

func writeT(t *testing.T, p, v string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readT(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestSetIdleChoosesSchedIdleElseMinimalWeight(t *testing.T) {
	for _, c := range []struct {
		name           string
		v2, withIdle   bool
		want           IdleMode
		file, value    string
		clearF, clearV string
	}{
		{"v1 with cpu.idle", false, true, IdleSched, "cpu.idle", "1", "cpu.shares", "1024"},
		{"v1 without cpu.idle", false, false, IdleMinShares, "cpu.shares", "2", "cpu.shares", "1024"},
		{"v2 with cpu.idle", true, true, IdleSched, "cpu.idle", "1", "cpu.weight", "100"},
		{"v2 without cpu.idle", true, false, IdleMinShares, "cpu.weight", "1", "cpu.weight", "100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, dir := fakeRoot(t, c.v2, c.withIdle)
			mode, err := SetIdle(root, "batch")
			if err != nil || mode != c.want {
				t.Fatalf("SetIdle = %q, %v; want %q", mode, err, c.want)
			}
			if got := readT(t, filepath.Join(dir, c.file)); got != c.value {
				t.Errorf("%s = %q, want %q", c.file, got, c.value)
			}
			if got, err := Idle(root, "batch"); err != nil || got != c.want {
				t.Errorf("Idle = %q, %v; want %q", got, err, c.want)
			}
			if err := ClearIdle(root, "batch"); err != nil {
				t.Fatal(err)
			}
			if got := readT(t, filepath.Join(dir, c.clearF)); got != c.clearV {
				t.Errorf("after ClearIdle %s = %q, want %q", c.clearF, got, c.clearV)
			}
			if c.withIdle && readT(t, filepath.Join(dir, "cpu.idle")) != "0" {
				t.Error("after ClearIdle cpu.idle is not 0")
			}
			if got, _ := Idle(root, "batch"); got != "" {
				t.Errorf("after ClearIdle Idle = %q, want none", got)
			}
		})
	}
}

func TestSetIdleRefusesBadParents(t *testing.T) {
	root, _ := fakeRoot(t, false, true)
	for _, p := range []string{"", "/abs", "../up", "a/../../b"} {
		if _, err := SetIdle(root, p); err == nil || !strings.Contains(err.Error(), "cgroup parent") {
			t.Errorf("SetIdle(%q) = %v, want an error naming the cgroup parent", p, err)
		}
	}
}

// On a real host (root, cgroups mounted) the kernel accepts the write and
// SetIdle reports the mode the kernel has.
func TestSetIdleRealCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	if _, err := Detect(DefaultRoot); err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	parent := "gleaner-idle-test"
	dir, _, err := cpuDir(DefaultRoot, parent)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	mode, err := SetIdle(DefaultRoot, parent)
	if err != nil {
		t.Fatal(err)
	}
	want := IdleMinShares
	if exists(filepath.Join(dir, "cpu.idle")) {
		want = IdleSched
	}
	if mode != want {
		t.Errorf("SetIdle = %q, want %q (cpu.idle present: %v)", mode, want, want == IdleSched)
	}
	if got, _ := Idle(DefaultRoot, parent); got != want {
		t.Errorf("Idle = %q, want %q", got, want)
	}
	if err := ClearIdle(DefaultRoot, parent); err != nil {
		t.Fatal(err)
	}
}
