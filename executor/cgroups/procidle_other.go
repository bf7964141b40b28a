//go:build !linux

package cgroups

import "errors"

// SetProcessIdle needs Linux scheduling policies.
func SetProcessIdle(procRoot string, pid int) (int, error) {
	return 0, errors.New("SCHED_IDLE: Linux only")
}

// ThreadIdle needs Linux scheduling policies.
func ThreadIdle(tid int) (bool, error) { return false, errors.New("SCHED_IDLE: Linux only") }
