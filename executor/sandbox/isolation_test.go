package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// probe runs script in a task and returns its stdout, failing the test
// when the task does not exit 0.
func probe(t *testing.T, s Spec, script string) string {
	t.Helper()
	s.Argv = []string{"/bin/sh", "-c", script}
	if s.Env == nil {
		s.Env = []string{"PATH=/bin:/usr/bin"}
	}
	out, errs, ex := run(t, s)
	if ex.Code != 0 {
		t.Fatalf("probe exited %v\nstdout: %s\nstderr: %s", ex, out, errs)
	}
	return out
}

// Every check here must print "ok <name>" and nothing else: a line
// "ESCAPED <name>" is a hole.
const escapeChecks = `
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "ESCAPED $name"; else echo "ok $name"; fi; }
check parent-root ls /proc/$PPID/root/
check parent-environ cat /proc/$PPID/environ
check pid1-root ls /proc/1/root/
check mknod /bin/busybox mknod /tmp/null-dev c 1 3
check core-pattern sh -c 'echo "|/tmp/x" > /proc/sys/kernel/core_pattern'
check sysrq sh -c 'echo h > /proc/sysrq-trigger'
check mount /bin/busybox mount -t tmpfs none /tmp
check unshare-user /bin/busybox unshare -U true
check unshare-mount /bin/busybox unshare -m true
check nsenter /bin/busybox nsenter -t 1 -m true
`

// ownProcsOnly reads the "procs ..." line: the helper is pid 1 and a
// handful of the task's own processes follow it (the shell, ls, grep, tr),
// none of the host's.
func ownProcsOnly(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		if pids, ok := strings.CutPrefix(line, "procs "); ok {
			f := strings.Fields(pids)
			return len(f) > 0 && len(f) <= 6 && f[0] == "1"
		}
	}
	return false
}

func capsOf(status string) map[string]string {
	caps := map[string]string{}
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.HasPrefix(k, "Cap") {
			caps[k] = strings.TrimSpace(v)
		}
	}
	return caps
}

// A task, unprivileged or root, holds no capability, sees only its own
// processes and cannot reach the host through its helper, devices,
// sysctls, mounts or new namespaces (issue 11, findings 2 and 3).
func TestTaskIsConfined(t *testing.T) {
	needRoot(t)
	root := bundleRoot(t)
	for _, c := range []struct {
		name string
		spec Spec
	}{
		{"unprivileged", Spec{UID: 65534, GID: 65534}},
		{"root by request", Spec{KeepRoot: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.spec
			s.Rootfs, s.StateDir = root, t.TempDir()
			out := probe(t, s, escapeChecks+`
echo "procs $(ls /proc | grep '^[0-9]' | tr '\n' ' ')"
echo "ppid $PPID"
cat /proc/self/status`)
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "ESCAPED") {
					t.Errorf("%s", line)
				}
			}
			if !strings.Contains(out, "ok nsenter") {
				t.Fatalf("checks did not run:\n%s", out)
			}
			// The helper (pid 1), the shell, ls and grep: nothing of the host.
			if !ownProcsOnly(out) || !strings.Contains(out, "ppid 1\n") {
				t.Errorf("the task sees more than its own processes:\n%s", out)
			}
			caps := capsOf(out)
			for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
				if caps[k] != "0000000000000000" {
					t.Errorf("%s = %q, want all zero", k, caps[k])
				}
			}
			if !strings.Contains(out, "NoNewPrivs:\t1") || !strings.Contains(out, "Seccomp:\t2") {
				t.Errorf("no_new_privs or seccomp filter missing:\n%s", out)
			}
		})
	}
}

// Without a bundle a task still gets its own PID namespace and /proc, and
// reaches its sandbox over a directory its user cannot traverse (issue 17:
// a Mesos agent's run directory is 0750 for root).
func TestBareTaskGetsItsOwnProcAndSandbox(t *testing.T) {
	needRoot(t)
	work, err := os.MkdirTemp("", "sandbox-bare-") // an agent's work dir: 0755
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(work) })
	_ = os.Chmod(work, 0o755)
	run := filepath.Join(work, "run") // the executor's run directory, as an agent makes it
	if err := os.Mkdir(run, 0o750); err != nil {
		t.Fatal(err)
	}
	sb := filepath.Join(run, "tasks", "t1", "sandbox")
	if err := os.MkdirAll(sb, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Chown(sb, 65534, 65534)
	if err := os.WriteFile(filepath.Join(run, "secret"), []byte("executor's"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := probe(t, Spec{Sandbox: sb, SandboxTarget: run, WorkDir: run, UID: 65534, GID: 65534,
		Env: []string{"PATH=/usr/bin:/bin", "MESOS_SANDBOX=" + run}}, escapeChecks+`
pwd
echo hi > "$MESOS_SANDBOX/f" && echo wrote
test -e "$MESOS_SANDBOX/secret" && echo SEES-EXECUTOR-FILES
echo "procs $(ls /proc | grep '^[0-9]' | tr '\n' ' ')"`)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ESCAPED") || line == "SEES-EXECUTOR-FILES" {
			t.Errorf("%s", line)
		}
	}
	if !strings.Contains(out, run+"\n") || !strings.Contains(out, "wrote\n") || !ownProcsOnly(out) {
		t.Errorf("bare task:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(sb, "f")); string(b) != "hi\n" {
		t.Errorf("the task's write did not land in its sandbox: %q", b)
	}
	// The host's mounts are untouched by the task's.
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), run) {
		t.Errorf("the task's bind mount leaked into the host:\n%s", mi)
	}
}

// Two tasks do not see each other's processes: a task reading every
// environ it can find does not find another task's secret (issue 11,
// finding 3), even under the same uid.
func TestTasksCannotReadEachOthersEnviron(t *testing.T) {
	needRoot(t)
	root := bundleRoot(t)
	victim, err := Start(Options{Spec: Spec{Rootfs: root, StateDir: t.TempDir(), UID: 65534, GID: 65534,
		Argv: []string{"/bin/sleep", "30"}, Env: []string{"VICTIM_SECRET=hunter2"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = victim.Signal(syscall.SIGKILL); victim.Wait() }()
	// The victim runs: its secret is in the host's /proc.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(childOf(t, victim.Pid)) + "/environ"); strings.Contains(string(b), "hunter2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("victim's environment never showed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range []Spec{
		{Rootfs: root, StateDir: t.TempDir(), UID: 65534, GID: 65534},
		{UID: 65534, GID: 65534}, // without a bundle
	} {
		out := probe(t, s, `cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -c VICTIM_SECRET || true`)
		if strings.TrimSpace(out) != "0" {
			t.Errorf("a task read another task's environment (bundle %q): %s", s.Rootfs, out)
		}
	}
}

// childOf is the first child of pid on the host (the task under its helper).
func childOf(t *testing.T, pid int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
		if f := strings.Fields(string(b)); len(f) > 0 {
			c, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("helper %d started no task", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A signal reaches every process of the task through its helper, and the
// task's own exit status, not the helper's, is reported.
func TestSignalsReachTheTaskThroughItsHelper(t *testing.T) {
	needRoot(t)
	p, err := Start(Options{Spec: Spec{Argv: []string{"/bin/sh", "-c", "sleep 30 & wait"}, UID: 65534, GID: 65534,
		Env: []string{"PATH=/usr/bin:/bin"}}})
	if err != nil {
		t.Fatal(err)
	}
	childOf(t, p.Pid)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if ex := p.Wait(); ex.Signal != syscall.SIGTERM {
		t.Fatalf("after SIGTERM: %v, want killed by signal 15", ex)
	}
	out, _, ex := run(t, Spec{Argv: []string{"/bin/sh", "-c", "exit 7"}, UID: 65534, GID: 65534})
	if ex.Code != 7 {
		t.Fatalf("exit 7 reported as %v (%s)", ex, out)
	}
}

// The policy assembles for this machine: every denied name is a real
// system call here.
func TestTaskPolicyAssembles(t *testing.T) {
	p := TaskPolicy()
	if _, err := p.Assemble(); err != nil {
		t.Fatal(err)
	}
	if _, err := foreignArchFilter(); err != nil {
		t.Fatal(err)
	}
}

// privateTmp makes a task's private /tmp as the executor does: tmp/ and
// var-tmp/ owned by uid, sticky and world-writable, under a root-only dir.
func privateTmp(t *testing.T, uid uint32) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "private-tmp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for sub := range PrivateTmpDirs {
		d := filepath.Join(dir, sub)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, int(uid), int(uid)); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// asUser runs a shell command on the host (host /proc, no namespaces) as
// uid:uid and reports whether it succeeded, with its output.
func asUser(uid uint32, script string) (bool, string) {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return err == nil, string(out)
}

// Tasks without a bundle of different jobs (different uids, as the
// executor's --task-uid-range gives them) cannot see each other: not the
// other's /tmp, /var/tmp or /dev/shm files, not its environment through
// their own /proc, and not through the host's /proc either, which a shared
// uid allowed (issue 11, finding 3: VICTIM_SECRET).
func TestJobsWithOwnUIDsCannotSeeEachOther(t *testing.T) {
	needRoot(t)
	const victimUID, attackerUID = 200001, 200002
	mark := fmt.Sprintf("victim-%d", os.Getpid())
	victimTmp := privateTmp(t, victimUID)
	victim, err := Start(Options{Spec: Spec{UID: victimUID, GID: victimUID, PrivateTmp: victimTmp,
		Argv: []string{"/bin/sh", "-c", "echo hunter2 > /tmp/" + mark + " && echo hunter2 > /var/tmp/" + mark +
			" && echo hunter2 > /dev/shm/" + mark + " && exec sleep 60"},
		Env: []string{"PATH=/usr/bin:/bin", "VICTIM_SECRET=hunter2"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = victim.Signal(syscall.SIGKILL); victim.Wait() }()
	pid := strconv.Itoa(childOf(t, victim.Pid))
	// The victim's files land in its private directories, not the host's.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile("/proc/" + pid + "/environ")
		_, errTmp := os.Stat(filepath.Join(victimTmp, "var-tmp", mark))
		if strings.Contains(string(b), "hunter2") && errTmp == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("victim never wrote its files or showed its environment (%s)", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b, err := os.ReadFile(filepath.Join(victimTmp, "tmp", mark)); err != nil || string(b) != "hunter2\n" {
		t.Fatalf("victim's /tmp file is not in its private tmp: %q %v", b, err)
	}
	for _, p := range []string{"/tmp/", "/var/tmp/", "/dev/shm/"} {
		if _, err := os.Stat(p + mark); err == nil {
			t.Errorf("the victim's file leaked into the host's %s", p)
		}
	}

	// Inside the attacker's task: nothing of the victim.
	out := probe(t, Spec{UID: attackerUID, GID: attackerUID, PrivateTmp: privateTmp(t, attackerUID),
		Env: []string{"PATH=/usr/bin:/bin"}}, `
for f in /tmp/`+mark+` /var/tmp/`+mark+` /dev/shm/`+mark+`; do test -e $f && echo "SEES $f"; done
echo "environ $(cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -c VICTIM_SECRET)"
echo x > /tmp/mine && echo tmp-writable`)
	if strings.Contains(out, "SEES") || !strings.Contains(out, "environ 0\n") || !strings.Contains(out, "tmp-writable") {
		t.Errorf("attacker task:\n%s", out)
	}

	// On the host's /proc: the victim's own uid reads its environment (the
	// finding, with one uid for every job); another job's uid does not, nor
	// its /tmp through /proc/<pid>/root.
	steal := "cat /proc/" + pid + "/environ | tr '\\0' '\\n' | grep VICTIM_SECRET"
	if ok, out := asUser(victimUID, steal); !ok || !strings.Contains(out, "hunter2") {
		t.Fatalf("control: the victim's own uid could not read its environ (%s); the test proves nothing", out)
	}
	if ok, out := asUser(attackerUID, steal); ok || strings.Contains(out, "hunter2") {
		t.Errorf("another uid read the victim's environ: %s", out)
	}
	if ok, out := asUser(attackerUID, "cat /proc/"+pid+"/root/tmp/"+mark); ok || strings.Contains(out, "hunter2") {
		t.Errorf("another uid read the victim's /tmp through /proc: %s", out)
	}
}
