package executor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DefaultTaskUser is the user of a task whose payload names none, unless
// --user says otherwise: numeric, so no passwd file can map it to root.
const DefaultTaskUser = "65534"

// AllowRootTasksEnv, set to a true value in the agent's environment, lets
// tasks that ask for uid 0 run as root (as --allow-root-tasks does).
const AllowRootTasksEnv = "GLEANER_ALLOW_ROOT_TASKS"

// hostPasswd is the host's user database; a bundle's own /etc/passwd is
// never read (a bundle could map "nobody" to uid 0).
var hostPasswd = "/etc/passwd"

// resolveUser maps "uid[:gid]" or a user name known on the HOST to ids.
// uid or gid 0 is refused unless allowRoot, and then only for a task with
// a bundle (a task on the host as root could rewrite the host's files).
func resolveUser(name string, allowRoot, bundled bool) (uid, gid uint32, err error) {
	if name == "" {
		return 0, 0, fmt.Errorf("user: empty name")
	}
	uid, gid, err = lookupUser(name)
	if err != nil {
		return 0, 0, err
	}
	if uid == 0 || gid == 0 {
		if !allowRoot {
			return 0, 0, fmt.Errorf("user %q is root (uid %d, gid %d): refused unless the executor runs with --allow-root-tasks", name, uid, gid)
		}
		if !bundled {
			return 0, 0, fmt.Errorf("user %q is root: a task without a bundle never runs as root (it sees the host's files)", name)
		}
	}
	return uid, gid, nil
}

func lookupUser(name string) (uint32, uint32, error) {
	u, g, hasGID := strings.Cut(name, ":")
	if uu, err := strconv.ParseUint(u, 10, 32); err == nil {
		gg := uu
		if hasGID {
			if gg, err = strconv.ParseUint(g, 10, 32); err != nil {
				return 0, 0, fmt.Errorf("user %q: bad gid", name)
			}
		}
		return uint32(uu), uint32(gg), nil
	}
	if uu, gg, ok := lookupPasswd(hostPasswd, name); ok {
		return uu, gg, nil
	}
	return 0, 0, fmt.Errorf("user %q: not in the host's %s (names are resolved on the host, never in the bundle; give a uid)", name, hostPasswd)
}

func lookupPasswd(file, name string) (uint32, uint32, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 || fields[0] != name {
			continue
		}
		u, err1 := strconv.ParseUint(fields[2], 10, 32)
		g, err2 := strconv.ParseUint(fields[3], 10, 32)
		if err1 == nil && err2 == nil {
			return uint32(u), uint32(g), true
		}
	}
	return 0, 0, false
}
