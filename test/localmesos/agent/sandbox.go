package agent

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Modes a Mesos agent gives the directories on the way to a sandbox
// (src/slave/paths.cpp): every parent is made by a plain recursive mkdir
// (0755 under the agent's usual umask 022); the executor's run directory is
// then chmod'ed to 0750, "not accessible to others", and, when the agent
// switches users, chown'ed to the user the executor runs as.
const (
	sandboxParentMode os.FileMode = 0o755
	runDirMode        os.FileMode = 0o750
)

// runUser is the user a Mesos agent runs an executor as: CommandInfo.user,
// else FrameworkInfo.user. For the command executor, CommandInfo is the
// task's.
func runUser(fw mesos.FrameworkInfo, ci *mesos.CommandInfo) string {
	if ci != nil && ci.GetUser() != "" {
		return ci.GetUser()
	}
	return fw.User
}

// hostUser is a user resolved on the agent's host.
type hostUser struct {
	name     string
	uid, gid uint32
}

// credential is what a process switched to the user runs with.
func (u *hostUser) credential() *syscall.Credential {
	if u == nil {
		return nil
	}
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, NoSetGroups: true}
}

// lookupHostUser resolves name on the host, as the agent's chown does; an
// unknown user fails the launch, as it does on a Mesos agent.
func lookupHostUser(name string) (*hostUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("sandbox owner %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %q: %w", name, err)
	}
	return &hostUser{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
}

// switchedUser is the user the executor of ex runs as when the agent
// switches users (Config.SwitchUser, as root); nil when it runs as the agent.
func (a *Agent) switchedUser(ex *executorRun) (*hostUser, error) {
	if !a.cfg.SwitchUser || os.Geteuid() != 0 {
		return nil, nil
	}
	ci := ex.info.Command
	if ex.kind == kindCommand {
		a.mu.Lock()
		for _, t := range ex.tasks {
			ci = t.info.Command
		}
		a.mu.Unlock()
	}
	name := runUser(ex.fw.info, ci)
	if name == "" {
		return nil, nil
	}
	return lookupHostUser(name)
}

// createRunDirectory makes dir (<work_dir>/slaves/.../runs/<container>) as
// a Mesos agent does: missing parents 0755, dir itself 0750 owned by owner
// (nil: the agent's own user).
func createRunDirectory(dir string, owner *hostUser) error {
	if err := os.MkdirAll(filepath.Dir(dir), sandboxParentMode); err != nil {
		return err
	}
	if err := os.Mkdir(dir, runDirMode); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := os.Chmod(dir, runDirMode); err != nil {
		return err
	}
	if owner != nil {
		if err := os.Chown(dir, int(owner.uid), int(owner.gid)); err != nil {
			return fmt.Errorf("chown sandbox to %q: %w", owner.name, err)
		}
	}
	return nil
}

// chownFetched gives what the fetcher put in dir to owner, as a Mesos
// fetcher running as the executor's user leaves it (nil: left as is).
func chownFetched(dir string, owner *hostUser) error {
	if owner == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(owner.uid), int(owner.gid))
	})
}
