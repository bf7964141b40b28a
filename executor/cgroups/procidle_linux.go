package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// SetProcessIdle puts every thread of process pid under SCHED_IDLE, so a
// batch-side process that lives outside the batch cgroups (the Gleaner
// executor beside its task) runs only on CPU nothing else wants. Threads
// and children it creates later inherit the policy. procRoot is /proc (a
// fixture root in tests). It returns how many threads it changed; threads
// that end meanwhile are skipped, and a process that is gone is no error.
func SetProcessIdle(procRoot string, pid int) (int, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("pid %d: must be positive", pid)
	}
	entries, err := os.ReadDir(filepath.Join(procRoot, strconv.Itoa(pid), "task"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("threads of pid %d: %w", pid, err)
	}
	n := 0
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		err = setThreadIdle(tid)
		switch {
		case err == nil:
			n++
		case errors.Is(err, unix.ESRCH):
			// The thread ended meanwhile.
		default:
			return n, fmt.Errorf("SCHED_IDLE for thread %d of pid %d: %w", tid, pid, err)
		}
	}
	return n, nil
}

// setThreadIdle switches one thread to SCHED_IDLE (its nice value is kept,
// it no longer matters).
func setThreadIdle(tid int) error {
	return unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0)
}

// ThreadIdle reports whether thread tid runs SCHED_IDLE.
func ThreadIdle(tid int) (bool, error) {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return false, err
	}
	return a.Policy == unix.SCHED_IDLE, nil
}
