package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSetProcessIdleEveryThreadAndChildren(t *testing.T) {
	// A shell that starts a child after the change: the child must inherit.
	cmd := exec.Command("sh", "-c", "read _; sleep 30 & echo $!; wait")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	if idle, err := ThreadIdle(pid); err != nil || idle {
		t.Fatalf("before: idle %v, %v; want a normal thread", idle, err)
	}
	n, err := SetProcessIdle("/proc", pid)
	if err != nil || n < 1 {
		t.Fatalf("SetProcessIdle = %d, %v; want at least one thread changed", n, err)
	}
	if idle, err := ThreadIdle(pid); err != nil || !idle {
		t.Fatalf("after: idle %v, %v; want SCHED_IDLE", idle, err)
	}
	if _, err := in.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32)
	k, err := out.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(string(buf[:k-1]))
	if err != nil {
		t.Fatalf("child pid %q: %v", buf[:k], err)
	}
	if idle, err := ThreadIdle(child); err != nil || !idle {
		t.Fatalf("child started after the change: idle %v, %v; want SCHED_IDLE inherited", idle, err)
	}
}

func TestSetProcessIdleRefusesAndSkips(t *testing.T) {
	if _, err := SetProcessIdle("/proc", 0); err == nil {
		t.Error("pid 0: want an error naming the pid")
	}
	// A process that is gone (no task directory) is no error.
	root := t.TempDir()
	if n, err := SetProcessIdle(root, 4242); n != 0 || err != nil {
		t.Errorf("gone process = %d, %v; want 0, nil", n, err)
	}
	// A task entry that is not a thread id is skipped.
	if err := os.MkdirAll(filepath.Join(root, "7", "task", "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if n, err := SetProcessIdle(root, 7); n != 0 || err != nil {
		t.Errorf("no thread ids = %d, %v; want 0, nil", n, err)
	}
}
