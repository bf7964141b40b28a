package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// workDirLikeMesos is an agent work directory as a Mesos agent has it
// (/var/lib/mesos, 0755), so only the modes the agent sets below it decide
// who reaches a sandbox.
func workDirLikeMesos(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "localmesos-sandbox-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Every run directory is 0750 with 0755 parents, as a Mesos agent makes it
// (src/slave/paths.cpp createSandboxDirectory); with SwitchUser (Mesos'
// --switch_user, as root) it belongs to the framework's (or the command's)
// user, who runs the command task; otherwise to the agent's own user.
func TestRunDirectoriesHaveMesosModesAndOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown and switching users need root")
	}
	for _, c := range []struct {
		name        string
		switchUser  bool
		fwUser      string
		commandUser string
		wantUID     uint32
	}{
		{"no switch: the agent's user", false, "nobody", "", 0},
		{"switch to the framework's root", true, "root", "", 0},
		{"switch to the framework's nobody", true, "nobody", "", 65534},
		{"CommandInfo.user wins", true, "root", "nobody", 65534},
	} {
		t.Run(c.name, func(t *testing.T) {
			work := workDirLikeMesos(t)
			m := &fakeMaster{autoAck: true}
			a := newTestAgent(t, m, func(cfg *Config) { cfg.WorkDir, cfg.SwitchUser = work, c.switchUser })
			fw := frameworkInfo(false)
			fw.User = c.fwUser
			// The task writes into its sandbox through the sandbox's full
			// path (MESOS_SANDBOX), as a task of a real agent does.
			task := commandTask("writer", `id -u > "$MESOS_SANDBOX/uid.txt"`)
			if c.commandUser != "" {
				task.Command.User = &c.commandUser
			}
			a.Launch(fw, nil, []mesos.TaskInfo{task}, false)
			m.waitFor(t, "writer finished", func() bool {
				return m.hasState("writer", mesos.TASK_FINISHED) || m.hasState("writer", mesos.TASK_FAILED)
			})
			if !m.hasState("writer", mesos.TASK_FINISHED) {
				u, _ := m.lastOf("writer")
				t.Fatalf("writer: %s %q", u.status.GetState(), u.status.GetMessage())
			}
			runs, _ := filepath.Glob(filepath.Join(work, "slaves", "*", "frameworks", "FW-0001", "executors", "writer", "runs", "*"))
			if len(runs) != 1 {
				t.Fatalf("run directories: %v", runs)
			}
			run := runs[0]
			for dir := filepath.Dir(run); dir != work; dir = filepath.Dir(dir) {
				if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
					t.Errorf("%s: mode %v %v, want 0755", strings.TrimPrefix(dir, work), fi.Mode().Perm(), err)
				}
			}
			fi, err := os.Stat(run)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != 0o750 || st.Uid != c.wantUID {
				t.Errorf("run directory: mode %v owner %d, want 0750 owned by %d", fi.Mode().Perm(), st.Uid, c.wantUID)
			}
			if b, _ := os.ReadFile(filepath.Join(run, "uid.txt")); strings.TrimSpace(string(b)) != strconv.Itoa(int(c.wantUID)) {
				t.Errorf("the task ran as %q, want %d", b, c.wantUID)
			}
		})
	}
}

// With SwitchUser a user the host does not know fails the launch, as the
// chown of a Mesos agent does.
func TestSwitchUserToUnknownUserFailsTheLaunch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(cfg *Config) { cfg.WorkDir, cfg.SwitchUser = workDirLikeMesos(t), true })
	fw := frameworkInfo(false)
	fw.User = "no-such-user-on-this-host"
	a.Launch(fw, nil, []mesos.TaskInfo{commandTask("ghost", "true")}, false)
	m.waitFor(t, "ghost failed", func() bool { return m.hasState("ghost", mesos.TASK_FAILED) })
	u, _ := m.lastOf("ghost")
	if u.status.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED || !strings.Contains(u.status.GetMessage(), fw.User) {
		t.Fatalf("ghost: %s %q", u.status.GetReason(), u.status.GetMessage())
	}
}
