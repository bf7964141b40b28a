package executor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/executor/cgroups"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// While the monitor caps the batch parent (cgroup v1), a task with a larger
// hard CPU cap still launches (it inherits the parent's cap), and gets its
// own quota once the parent is lifted.
func TestHardCapUnderCappedParent(t *testing.T) {
	needRoot(t)
	if v, _ := cgroups.Detect(cgroups.DefaultRoot); v != cgroups.V1 {
		t.Skip("the parent-cap EINVAL is a cgroup v1 rule")
	}
	parentQuota := filepath.Join(cgroups.DefaultRoot, "cpu", cgParent, "cpu.cfs_quota_us")
	if err := os.MkdirAll(filepath.Dir(parentQuota), 0o755); err != nil {
		t.Skipf("cpu controller not writable: %v", err)
	}
	if err := os.WriteFile(parentQuota, []byte("10000"), 0o644); err != nil {
		t.Skipf("cannot cap the parent: %v", err)
	}
	t.Cleanup(func() { _ = os.WriteFile(parentQuota, []byte("-1"), 0o644) })
	h := start(t, false)
	h.launch("capped", payload("exec sleep 60", false, func(p *gleanerpb.TaskPayload) {
		p.Limits.Cpus = 0.5
		p.Limits.CpuMode = gleanerpb.CPUMode_CPU_MODE_HARD_CAP
	}))
	if _, err := h.agent.WaitState("capped", mesos.TASK_RUNNING, 20*time.Second); err != nil {
		t.Fatalf("launch under a capped parent: %v", err)
	}
	quota := filepath.Join(cgroups.DefaultRoot, "cpu", cgParent, "capped", "cpu.cfs_quota_us")
	if got := readQuota(t, quota); got != "-1" {
		t.Fatalf("task quota under the capped parent = %s, want -1 (inherits the cap)", got)
	}
	if err := os.WriteFile(parentQuota, []byte("-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for readQuota(t, quota) != "50000" {
		if time.Now().After(deadline) {
			t.Fatalf("task quota %s after the parent was lifted, want 50000", readQuota(t, quota))
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.agent.Kill("capped", 0)
	if st, _ := h.terminal("capped", 10*time.Second); st.GetState() != mesos.TASK_KILLED {
		t.Fatalf("end %s", st.GetState())
	}
}

func readQuota(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
