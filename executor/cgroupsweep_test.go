package executor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/executor/cgroups"
)

// TestExecutorSweepsCgroupsLeftByKilledExecutors: an empty task cgroup an
// executor killed before its cleanup left behind an hour ago is gone once a
// new executor starts a task; the new task's own cgroup is not touched.
func TestExecutorSweepsCgroupsLeftByKilledExecutors(t *testing.T) {
	h := start(t, false)
	var leftBehind []string
	for _, c := range []string{"cpu", "memory", "pids"} {
		d := filepath.Join(cgroups.DefaultRoot, c, cgParent, "killed-executor-task")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		hourAgo := time.Now().Add(-time.Hour)
		if err := os.Chtimes(d, hourAgo, hourAgo); err != nil {
			t.Fatal(err)
		}
		leftBehind = append(leftBehind, d)
		t.Cleanup(func() { _ = os.Remove(d) })
	}
	h.launch("sweeper", payload("cat /proc/self/cgroup", false, nil))
	if st, _ := h.terminal("sweeper", 20*time.Second); st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("task: %s %q", st.GetState(), st.GetMessage())
	}
	if out := h.stdout("sweeper"); !strings.Contains(out, cgParent+"/sweeper") {
		t.Fatalf("task not in its own cgroup:\n%s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, d := range leftBehind {
		for {
			_, err := os.Stat(d)
			if os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s left behind (%v)", d, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
