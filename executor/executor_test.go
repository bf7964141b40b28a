package executor_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/executor"
	"github.com/gleaner-project/gleaner/executor/agenttest"
	"github.com/gleaner-project/gleaner/executor/cgroups"
	"github.com/gleaner-project/gleaner/executor/sandbox"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
)

const cgParent = "gleaner-test"

var (
	bundlePath, bundleDigest string
	cacheDir                 string
)

func TestMain(m *testing.M) {
	if sandbox.IsInit() {
		sandbox.Init()
	}
	code := m.Run()
	for _, c := range []string{"cpu", "cpuacct", "memory", "pids"} {
		_ = os.Remove(filepath.Join(cgroups.DefaultRoot, c, cgParent))
	}
	if bundlePath != "" {
		_ = os.RemoveAll(filepath.Dir(bundlePath))
	}
	os.Exit(code)
}

type harness struct {
	t       testing.TB
	agent   *agenttest.Agent
	sandbox string
	done    chan error
	cancel  context.CancelFunc
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("tasks in chroots and cgroups need root")
	}
	if _, err := cgroups.Detect(cgroups.DefaultRoot); err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	probe := filepath.Join(cgroups.DefaultRoot, "memory", cgParent)
	if err := os.MkdirAll(probe, 0o755); err != nil {
		t.Skipf("cgroups not writable: %v", err)
	}
}

func bundle(t testing.TB) (string, string) {
	t.Helper()
	if bundlePath == "" {
		dir, err := os.MkdirTemp("", "gleaner-exec-bundle-")
		if err != nil {
			t.Fatal(err)
		}
		bundlePath, bundleDigest = rootfstest.Bundle(t, dir, map[string]string{"etc/marker": "in-bundle\n"})
		cacheDir = filepath.Join(dir, "cache")
	}
	return bundlePath, bundleDigest
}

func start(t *testing.T, checkpoint bool, caps ...mesos.FrameworkInfo_Capability_Type) *harness {
	return startTB(t, checkpoint, nil, caps...)
}

func startB(b *testing.B) *harness { return startTB(b, false, nil) }

func startTB(t testing.TB, checkpoint bool, mod func(*executor.Config), caps ...mesos.FrameworkInfo_Capability_Type) *harness {
	t.Helper()
	needRoot(t)
	bundle(t)
	a, err := agenttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	a.Capabilities = caps
	// Like an agent's sandbox: reachable by the unprivileged task user.
	sb, err := os.MkdirTemp("", "gleaner-sandbox-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(sb, 0o755)
	t.Cleanup(func() { _ = os.RemoveAll(sb) })
	h := &harness{t: t, agent: a, sandbox: sb, done: make(chan error, 1)}
	cfg := executor.Config{
		Mesos:             a.Config(h.sandbox, checkpoint),
		CgroupParent:      cgParent,
		BundleCache:       cacheDir,
		DiskCheckInterval: 100 * time.Millisecond,
		DefaultCPUMode:    gleanerpb.CPUMode_CPU_MODE_HARD_CAP,
	}
	if !testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := executor.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("executor did not stop")
		}
		a.Close()
	})
	if err := a.WaitFor(10*time.Second, func(a *agenttest.Agent) bool { return a.Connected() }); err != nil {
		t.Fatal("executor never subscribed")
	}
	return h
}

func payload(cmd string, withBundle bool, mod func(p *gleanerpb.TaskPayload)) *gleanerpb.TaskPayload {
	p := &gleanerpb.TaskPayload{JobId: "job", TaskName: "t", Shell: true, Command: cmd,
		Limits: &gleanerpb.Limits{Cpus: 1, MemMb: 128, DiskMb: 100}}
	if withBundle {
		p.Bundle = &gleanerpb.Bundle{Uri: bundlePath, Digest: bundleDigest}
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func (h *harness) launch(id string, p *gleanerpb.TaskPayload) {
	b, err := p.Marshal()
	if err != nil {
		h.t.Fatal(err)
	}
	h.agent.Launch(mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: "agent-1"}, Data: b})
}

func (h *harness) terminal(id string, timeout time.Duration) (mesos.TaskStatus, *gleanerpb.TaskResult) {
	h.t.Helper()
	st, err := h.agent.Terminal(id, timeout)
	if err != nil {
		h.t.Fatal(err)
	}
	var r gleanerpb.TaskResult
	if err := r.Unmarshal(st.Data); err != nil {
		h.t.Fatalf("terminal update without a TaskResult: %v", err)
	}
	return st, &r
}

func (h *harness) stdout(id string) string {
	b, _ := os.ReadFile(filepath.Join(h.sandbox, "tasks", id, "stdout"))
	return string(b)
}

func TestChrootedTaskSeesOnlyTheBundle(t *testing.T) {
	h := start(t, false)
	h.launch("see", payload("cat /etc/marker; ls /; id -u; test -e /etc/hostname && echo HOSTFS; cat /proc/self/cgroup; echo out-of-sandbox > data", true, nil))
	st, res := h.terminal("see", 20*time.Second)
	out := h.stdout("see")
	if st.GetState() != mesos.TASK_FINISHED || res.ExitCode != 0 || st.GetMessage() != "exited with status 0" {
		t.Fatalf("%s %q %+v\n%s", st.GetState(), st.GetMessage(), res, out)
	}
	for _, want := range []string{"in-bundle", "65534", cgParent + "/see"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "HOSTFS") {
		t.Errorf("task saw the host's /etc/hostname")
	}
	var states []string
	for _, u := range h.agent.Updates() {
		states = append(states, u.GetState().String())
		if len(u.UUID) != 16 || u.UUID[6]>>4 != 4 || u.GetSource() != mesos.SOURCE_EXECUTOR {
			t.Errorf("bad update %v", u)
		}
	}
	if strings.Join(states, ",") != "TASK_STARTING,TASK_RUNNING,TASK_FINISHED" {
		t.Errorf("updates %v", states)
	}
	if res.StartedAt == 0 || res.FinishedAt < res.StartedAt {
		t.Errorf("times %+v", res)
	}
	// Default cleanup (remove-finished): the sandbox and rootfs copy are gone, logs stay.
	for p, want := range map[string]bool{"sandbox": false, "rootfs": false, "stdout": true} {
		if _, err := os.Stat(filepath.Join(h.sandbox, "tasks", "see", p)); (err == nil) != want {
			t.Errorf("after cleanup %s present=%v", p, err == nil)
		}
	}
	if _, err := os.Stat(filepath.Join(cgroups.DefaultRoot, "memory", cgParent, "see")); err == nil {
		t.Error("task cgroup left behind")
	}
}

func TestExitStatusAndHostTask(t *testing.T) {
	h := start(t, false)
	h.launch("fail3", payload("echo on-host; cat /proc/self/cgroup; exit 3", false, func(p *gleanerpb.TaskPayload) {
		p.Cleanup = gleanerpb.CleanupPolicy_CLEANUP_REMOVE_NONE
	}))
	st, res := h.terminal("fail3", 20*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetMessage() != "exited with status 3" || res.ExitCode != 3 || res.Signal != 0 {
		t.Fatalf("%s %q %+v", st.GetState(), st.GetMessage(), res)
	}
	if out := h.stdout("fail3"); !strings.Contains(out, "on-host") || !strings.Contains(out, cgParent+"/fail3") {
		t.Fatalf("host task not in its cgroup:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(h.sandbox, "tasks", "fail3", "sandbox")); err != nil {
		t.Error("remove-none cleaned up")
	}
	h.launch("bad", &gleanerpb.TaskPayload{Shell: true})
	st, _ = h.terminal("bad", 10*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_TASK_INVALID {
		t.Fatalf("invalid payload: %s %s %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
	h.launch("nocmd", payload("", true, func(p *gleanerpb.TaskPayload) { p.Shell = false; p.Args = []string{"no-such-binary"} }))
	st, _ = h.terminal("nocmd", 10*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED || !strings.Contains(st.GetMessage(), "no-such-binary") {
		t.Fatalf("missing command: %s %s %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
}

func readUint(t *testing.T, p string) uint64 {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v
}

func TestCPUHardCap(t *testing.T) {
	h := start(t, false)
	h.launch("burn", payload("while :; do :; done", true, func(p *gleanerpb.TaskPayload) {
		p.Limits.Cpus = 0.2
		p.Limits.CpuMode = gleanerpb.CPUMode_CPU_MODE_HARD_CAP
	}))
	if _, err := h.agent.WaitState("burn", mesos.TASK_RUNNING, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	usage := filepath.Join(cgroups.DefaultRoot, "cpuacct", cgParent, "burn", "cpuacct.usage")
	quota := readUint(t, filepath.Join(cgroups.DefaultRoot, "cpu", cgParent, "burn", "cpu.cfs_quota_us"))
	if quota != 20000 {
		t.Fatalf("cfs quota %d, want 20000", quota)
	}
	time.Sleep(300 * time.Millisecond)
	u0, t0 := readUint(t, usage), time.Now()
	time.Sleep(3 * time.Second)
	u1, t1 := readUint(t, usage), time.Now()
	share := float64(u1-u0) / float64(t1.Sub(t0).Nanoseconds())
	t.Logf("cpu burner capped at 0.2 used %.1f%% of a core", share*100)
	if share > 0.25 || share < 0.02 {
		t.Fatalf("cpu burner used %.1f%% of a core, want about 20%% (≤25%%)", share*100)
	}
	h.agent.Kill("burn", 0)
	st, res := h.terminal("burn", 10*time.Second)
	if st.GetState() != mesos.TASK_KILLED || res.CpuSeconds <= 0 {
		t.Fatalf("%s %+v", st.GetState(), res)
	}
}

func TestSharesPidsAndVolumes(t *testing.T) {
	h := start(t, false)
	vol, err := os.MkdirTemp("", "gleaner-vol-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(vol)
	_ = os.Chmod(vol, 0o755) // readable by the task user
	_ = os.WriteFile(filepath.Join(vol, "in"), []byte("from-volume\n"), 0o644)
	h.launch("soft", payload("cat /data/in; touch /data/x 2>/dev/null && echo writable || echo read-only; sleep 1", true, func(p *gleanerpb.TaskPayload) {
		p.Limits.Cpus = 0.5
		p.Limits.CpuMode = gleanerpb.CPUMode_CPU_MODE_SHARES
		p.Limits.Pids = 64
		p.Volumes = []*gleanerpb.Volume{{HostPath: vol, ContainerPath: "/data", ReadOnly: true}}
	}))
	if _, err := h.agent.WaitState("soft", mesos.TASK_RUNNING, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := readUint(t, filepath.Join(cgroups.DefaultRoot, "cpu", cgParent, "soft", "cpu.shares")); got != 512 {
		t.Errorf("cpu.shares %d, want 512", got)
	}
	if got := readUint(t, filepath.Join(cgroups.DefaultRoot, "pids", cgParent, "soft", "pids.max")); got != 64 {
		t.Errorf("pids.max %d, want 64", got)
	}
	if got := readUint(t, filepath.Join(cgroups.DefaultRoot, "memory", cgParent, "soft", "memory.limit_in_bytes")); got != 128<<20 {
		t.Errorf("memory limit %d", got)
	}
	st, _ := h.terminal("soft", 20*time.Second)
	if out := h.stdout("soft"); st.GetState() != mesos.TASK_FINISHED || out != "from-volume\nread-only\n" {
		t.Fatalf("%s %q", st.GetState(), out)
	}
	if _, err := os.Stat(filepath.Join(vol, "x")); err == nil {
		t.Fatal("read-only volume was written")
	}
}

func TestMemoryHogIsOOMKilled(t *testing.T) {
	h := start(t, false)
	// dd is OOM-killed; the shell would go on, but the whole task must end.
	h.launch("hog", payload("dd if=/dev/zero of=/dev/null bs=200M count=1; echo survived; sleep 30", true, func(p *gleanerpb.TaskPayload) {
		p.Limits.MemMb = 32
	}))
	st, res := h.terminal("hog", 30*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_CONTAINER_LIMITATION_MEMORY ||
		!strings.Contains(st.GetMessage(), "memory limit 32 MiB exceeded") || res.Limitation != "memory" {
		t.Fatalf("%s %s %q %+v", st.GetState(), st.GetReason(), st.GetMessage(), res)
	}
	if res.MemoryPeakBytes == 0 || res.MemoryPeakBytes > 33<<20 {
		t.Errorf("memory peak %d", res.MemoryPeakBytes)
	}
	if res.FinishedAt-res.StartedAt > 10 {
		t.Errorf("task outlived its OOM kill: ran %.1fs", res.FinishedAt-res.StartedAt)
	}
}

func TestDiskFillerIsKilled(t *testing.T) {
	h := start(t, false)
	h.launch("fill", payload("dd if=/dev/zero of=/tmp/fill bs=1M count=40; sleep 30", true, func(p *gleanerpb.TaskPayload) {
		p.Limits.DiskMb = 8
	}))
	st, res := h.terminal("fill", 30*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_CONTAINER_LIMITATION_DISK ||
		!strings.Contains(st.GetMessage(), "disk limit 8 MiB exceeded") || res.Limitation != "disk" {
		t.Fatalf("%s %s %q %+v", st.GetState(), st.GetReason(), st.GetMessage(), res)
	}
}

func TestKillHonoursGracePeriod(t *testing.T) {
	h := start(t, false, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
	// Traps SIGTERM, then takes 1 s to finish.
	h.launch("graceful", payload("trap 'sleep 1; echo cleaned; exit 0' TERM; echo trapped; while :; do sleep 0.05; done", true, nil))
	// Ignores SIGTERM entirely.
	h.launch("stubborn", payload("trap '' TERM; echo trapped; while :; do sleep 0.05; done", true, nil))
	for _, id := range []string{"graceful", "stubborn"} {
		if _, err := h.agent.WaitState(id, mesos.TASK_RUNNING, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		// The shell has its trap once it says so (a fixed 200 ms pause could
		// end before that on a loaded machine).
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(h.stdout(id), "trapped") {
			if time.Now().After(deadline) {
				t.Fatalf("%s never installed its TERM trap; stdout %q", id, h.stdout(id))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t0 := time.Now()
	h.agent.Kill("graceful", 5*time.Second)
	h.agent.Kill("stubborn", 1500*time.Millisecond)
	st, res := h.terminal("graceful", 10*time.Second)
	took := time.Since(t0)
	if st.GetState() != mesos.TASK_KILLED || res.ExitCode != 0 || !strings.Contains(h.stdout("graceful"), "cleaned") || took < time.Second {
		t.Fatalf("graceful: %s %q %+v after %v; stdout %q", st.GetState(), st.GetMessage(), res, took, h.stdout("graceful"))
	}
	if _, err := h.agent.WaitState("graceful", mesos.TASK_KILLING, time.Second); err != nil {
		t.Error(err)
	}
	st, res = h.terminal("stubborn", 10*time.Second)
	took = time.Since(t0)
	if st.GetState() != mesos.TASK_KILLED || res.Signal != 9 || !strings.Contains(st.GetMessage(), "killed by signal 9") || took < 1500*time.Millisecond {
		t.Fatalf("stubborn: %s %q %+v after %v", st.GetState(), st.GetMessage(), res, took)
	}
}

func TestKillBeforeStart(t *testing.T) {
	h := start(t, false)
	// KILL right behind LAUNCH: the task is killed whether or not its
	// process had started, and exactly one terminal update is sent.
	h.launch("quick", payload("sleep 30", true, nil))
	h.agent.Kill("quick", 0)
	st, _ := h.terminal("quick", 20*time.Second)
	if st.GetState() != mesos.TASK_KILLED {
		t.Fatalf("%s %q", st.GetState(), st.GetMessage())
	}
	time.Sleep(200 * time.Millisecond)
	n := 0
	for _, u := range h.agent.Updates() {
		if u.TaskID.Value == "quick" && executor.IsTerminal(u.GetState()) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d terminal updates", n)
	}
}

func TestTimeout(t *testing.T) {
	h := start(t, false)
	h.launch("slow", payload("sleep 30", true, func(p *gleanerpb.TaskPayload) { p.TimeoutSeconds = 0.5 }))
	st, res := h.terminal("slow", 20*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_MAX_COMPLETION_TIME_REACHED ||
		res.Limitation != "timeout" || !strings.Contains(st.GetMessage(), "timed out after 500ms") {
		t.Fatalf("%s %s %q %+v", st.GetState(), st.GetReason(), st.GetMessage(), res)
	}
}

func TestLogCap(t *testing.T) {
	h := start(t, false)
	h.launch("chatty", payload("yes | head -c 100000", true, func(p *gleanerpb.TaskPayload) { p.LogLimitBytes = 1000 }))
	st, _ := h.terminal("chatty", 20*time.Second)
	out := h.stdout("chatty")
	if st.GetState() != mesos.TASK_FINISHED || !strings.HasPrefix(out, "y\ny\n") || len(out) > 1200 || !strings.Contains(out, "99000 bytes dropped") {
		t.Fatalf("%s: %d bytes: %q", st.GetState(), len(out), out[max(0, len(out)-100):])
	}
}

func maliciousBundle(t *testing.T, dir string) (string, string) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	_ = tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	_ = tw.WriteHeader(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "../../../../bin/sh"})
	_ = tw.Close()
	_ = zw.Close()
	p := filepath.Join(dir, "evil.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return p, "sha256:" + hex.EncodeToString(sum[:])
}

func TestMaliciousBundleIsRejected(t *testing.T) {
	h := start(t, false)
	evil, digest := maliciousBundle(t, t.TempDir())
	h.launch("evil", payload("true", true, func(p *gleanerpb.TaskPayload) { p.Bundle = &gleanerpb.Bundle{Uri: evil, Digest: digest} }))
	st, _ := h.terminal("evil", 20*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED ||
		!strings.Contains(st.GetMessage(), `unsafe bundle entry "bin/sh"`) {
		t.Fatalf("%s %s %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
	h.launch("tampered", payload("true", true, func(p *gleanerpb.TaskPayload) {
		p.Bundle = &gleanerpb.Bundle{Uri: evil, Digest: "sha256:" + strings.Repeat("ab", 32)}
	}))
	st, _ = h.terminal("tampered", 20*time.Second)
	if st.GetState() != mesos.TASK_FAILED || !strings.Contains(st.GetMessage(), "digest mismatch") {
		t.Fatalf("%s %q", st.GetState(), st.GetMessage())
	}
}

func TestAgentRestartKeepsFinalStatus(t *testing.T) {
	h := start(t, true)
	h.launch("survivor", payload("sleep 1.5; echo done", true, nil))
	if _, err := h.agent.WaitState("survivor", mesos.TASK_RUNNING, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	h.agent.HoldAcks(true)
	// The agent goes away for longer than the task runs: the terminal update
	// cannot be delivered until the executor re-subscribes.
	if err := h.agent.Restart(2500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	st, res := h.terminal("survivor", 20*time.Second)
	if st.GetState() != mesos.TASK_FINISHED || res.ExitCode != 0 {
		t.Fatalf("%s %+v", st.GetState(), res)
	}
	subs := h.agent.Subscribes()
	last := subs[len(subs)-1]
	if len(subs) < 2 || len(last.UnacknowledgedUpdates) == 0 {
		t.Fatalf("re-subscribe carried no unacknowledged updates: %d subscribes", len(subs))
	}
	found := false
	for _, u := range last.UnacknowledgedUpdates {
		found = found || u.Status.GetState() == mesos.TASK_FINISHED
	}
	if !found {
		t.Fatalf("re-subscribe lacks the terminal update: %v", last.UnacknowledgedUpdates)
	}
	// Once the agent acknowledges (it does for replayed updates now),
	// the executor forgets them: a later re-subscribe carries nothing.
	h.agent.HoldAcks(false)
	for i := 0; ; i++ {
		n := len(h.agent.Subscribes())
		if err := h.agent.Restart(10 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := h.agent.WaitFor(10*time.Second, func(a *agenttest.Agent) bool { return len(a.Subscribes()) > n }); err != nil {
			t.Fatal(err)
		}
		subs2 := h.agent.Subscribes()
		left := subs2[len(subs2)-1]
		if len(left.UnacknowledgedUpdates) == 0 && len(left.UnacknowledgedTasks) == 0 {
			break
		}
		if i == 5 {
			t.Fatalf("acknowledged updates still resent: %d updates, %d tasks", len(left.UnacknowledgedUpdates), len(left.UnacknowledgedTasks))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(h.agent.Updates()); n != 3 {
		t.Errorf("agent saw %d distinct updates, want 3 (STARTING, RUNNING, FINISHED)", n)
	}
}

func TestIdleExecutorExits(t *testing.T) {
	h := startTB(t, false, func(c *executor.Config) { c.IdleTimeout = 300 * time.Millisecond })
	h.launch("one", payload("sleep 0.5", true, nil))
	h.terminal("one", 20*time.Second)
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("idle exit returned %v", err)
		}
		h.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("idle executor did not exit")
	}
}

func TestShutdownKillsTasksAndExits(t *testing.T) {
	h := start(t, false)
	h.launch("long", payload("sleep 60", true, nil))
	if _, err := h.agent.WaitState("long", mesos.TASK_RUNNING, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	h.agent.Heartbeat()
	h.agent.Shutdown()
	st, _ := h.terminal("long", 10*time.Second)
	if st.GetState() != mesos.TASK_KILLED {
		t.Fatalf("%s %q", st.GetState(), st.GetMessage())
	}
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("executor ended with %v", err)
		}
		h.done <- nil
	case <-time.After(6 * time.Second):
		t.Fatal("executor did not exit after SHUTDOWN")
	}
}

var _ = fmt.Sprint

// With --task-uid-range each job's tasks run as the job's own uid and gid
// (the same on every executor), a payload's user still wins, and a bare
// task's /tmp is its own and goes when it ends: job A's task neither sees
// job B's /tmp files nor its environment (issue 11, finding 3).
func TestJobsRunAsTheirOwnUIDs(t *testing.T) {
	uids := executor.UIDRange{First: 200000, Last: 299999}
	h := startTB(t, false, func(c *executor.Config) { c.TaskUIDs = uids })
	h.launch("victim", payload("id -u; id -g; echo hunter2 > /tmp/victim-file; touch $MESOS_SANDBOX/ready; exec sleep 60", false,
		func(p *gleanerpb.TaskPayload) {
			p.JobId = "job-b"
			p.Env = map[string]string{"VICTIM_SECRET": "hunter2"}
		}))
	ready := filepath.Join(h.sandbox, "tasks", "victim", "sandbox", "ready")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(h.sandbox, "tasks", "victim", "stderr"))
			t.Fatalf("victim never got ready: %s %s", h.stdout("victim"), b)
		}
	}
	h.launch("attacker", payload(`id -u; id -g; test -e /tmp/victim-file && echo SEES-VICTIM-FILE; echo "environ $(cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -c VICTIM_SECRET)"`, false,
		func(p *gleanerpb.TaskPayload) { p.JobId = "job-a" }))
	h.launch("fixed", payload("id -u", false, func(p *gleanerpb.TaskPayload) { p.JobId = "job-a"; p.User = "4321" }))
	for _, id := range []string{"attacker", "fixed"} {
		if st, _ := h.terminal(id, 30*time.Second); st.GetState() != mesos.TASK_FINISHED {
			t.Fatalf("%s: %s %q: %s", id, st.GetState(), st.GetMessage(), h.stdout(id))
		}
	}
	a, b := uids.ForJob("job-a"), uids.ForJob("job-b")
	if a == b {
		t.Fatalf("job-a and job-b hash to one uid %d; pick other ids", a)
	}
	if want := fmt.Sprintf("%d\n%d\nenviron 0\n", a, a); h.stdout("attacker") != want {
		t.Errorf("attacker stdout %q, want %q (its own uid, not the victim's /tmp file nor its environ)", h.stdout("attacker"), want)
	}
	if want := fmt.Sprintf("%d\n%d\n", b, b); h.stdout("victim") != want {
		t.Errorf("victim stdout %q, want %q", h.stdout("victim"), want)
	}
	if out := h.stdout("fixed"); out != "4321\n" {
		t.Errorf("a payload's user must win over the job's uid: %q", out)
	}
	// The victim's private /tmp holds its file; the host's does not; an
	// ended task's private /tmp is gone.
	if b, err := os.ReadFile(filepath.Join(h.sandbox, "tasks", "victim", "private-tmp", "tmp", "victim-file")); err != nil || string(b) != "hunter2\n" {
		t.Errorf("victim's /tmp file: %q %v", b, err)
	}
	if _, err := os.Stat("/tmp/victim-file"); err == nil {
		t.Error("the victim's /tmp file landed in the host's /tmp")
	}
	if _, err := os.Stat(filepath.Join(h.sandbox, "tasks", "attacker", "private-tmp")); err == nil {
		t.Error("an ended task's private /tmp was left behind")
	}
	h.agent.Kill("victim", 0)
	h.terminal("victim", 20*time.Second)
}

// After an agent restart the executor re-subscribes within the agent's
// re-registration window (MESOS_SUBSCRIPTION_BACKOFF_MAX, 2 s as Mesos'
// default) even on a busy host and even when an attempt made while the
// agent was down hangs on a connection nobody answers; the running task
// survives and its end is reported (issue 10, chaos finding).
func TestResubscribesWithinTheAgentsWindowUnderLoad(t *testing.T) {
	const window = 2 * time.Second
	h := startTB(t, true, func(c *executor.Config) { c.Mesos.SubscriptionBackoffMax = window })
	h.agent.ResubscribeWindow = window
	h.agent.BlackHoleWhileDown = true
	h.launch("survivor", payload("touch $MESOS_SANDBOX/started; while [ ! -e $MESOS_SANDBOX/go ]; do sleep 0.05; done; echo done", false, nil))
	if _, err := h.agent.WaitState("survivor", mesos.TASK_RUNNING, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// Busy host: more spinning goroutines than cores, in the executor's own process.
	stop := make(chan struct{})
	defer close(stop)
	for i := 0; i < 4*runtime.NumCPU(); i++ {
		go func() {
			x := 0
			for {
				select {
				case <-stop:
					return
				default:
					for j := 0; j < 1e5; j++ {
						x += j
					}
				}
			}
		}()
	}
	for i := 0; i < 3; i++ {
		n := len(h.agent.Subscribes())
		if err := h.agent.Restart(700 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := h.agent.WaitFor(30*time.Second, func(a *agenttest.Agent) bool { return len(a.Subscribes()) > n }); err != nil {
			t.Fatalf("restart %d: the executor never re-subscribed", i)
		}
	}
	t.Logf("re-subscribed %v after the agent was back", h.agent.ResubscribeDelays())
	if m := h.agent.MissedResubscribes(); m != 0 {
		t.Fatalf("the executor missed the agent's %v re-subscription window after %d of 3 restarts", window, m)
	}
	sb := filepath.Join(h.sandbox, "tasks", "survivor", "sandbox")
	if err := os.WriteFile(filepath.Join(sb, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.terminal("survivor", 30*time.Second); st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("survivor: %s %q", st.GetState(), st.GetMessage())
	}
}
