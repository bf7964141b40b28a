package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSweepStaleRealCgroups: of the task cgroups an executor killed before its
// Destroy left behind, the sweep removes the empty old ones (in every v1
// controller) and keeps one with a process in it and one just created.
func TestSweepStaleRealCgroups(t *testing.T) {
	root := realRoot(t)
	cfg := Config{Root: root, Parent: "gleaner-sweep-" + strconv.Itoa(os.Getpid())}
	left, err := New(cfg, "left-behind")
	if err != nil {
		t.Fatal(err)
	}
	busy, err := New(cfg, "busy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = busy.Destroy()
		_ = left.Destroy()
		for _, c := range append(v1Controllers, "") {
			_ = os.Remove(filepath.Join(root, c, cfg.Parent))
		}
	})
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	if err := busy.AddProc(sleeper.Process.Pid); err != nil {
		t.Fatal(err)
	}

	removed, err := SweepStale(cfg, StaleAge, time.Now())
	if err != nil || len(removed) != 0 {
		t.Fatalf("young cgroups swept: %v %v", removed, err)
	}

	later := time.Now().Add(StaleAge + time.Minute)
	removed, err = SweepStale(cfg, StaleAge, later)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(left.Paths()) {
		t.Fatalf("removed %v, want the %d directories of left-behind", removed, len(left.Paths()))
	}
	for _, p := range left.Paths() {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still there (%v)", p, err)
		}
	}
	for _, p := range busy.Paths() {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("cgroup with a process removed: %s (%v)", p, err)
		}
	}
}

// TestSweepStaleWithoutParent: a host where no task ever ran has nothing to
// sweep and no error.
func TestSweepStaleWithoutParent(t *testing.T) {
	root := fixtureV1(t, false)
	removed, err := SweepStale(Config{Root: root, Parent: "never-created"}, StaleAge, time.Now())
	if err != nil || len(removed) != 0 {
		t.Fatalf("%v %v", removed, err)
	}
	if _, err := SweepStale(Config{Root: root, Parent: "../escape"}, StaleAge, time.Now()); err == nil {
		t.Fatal("a parent with .. was accepted")
	}
}
