package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// IdleMode says how a batch parent cgroup was made to yield the CPU.
type IdleMode string

// The ways SetIdle can make batch yield, best first.
const (
	// IdleSched: cpu.idle = 1, the cgroup's tasks are SCHED_IDLE towards
	// their siblings (Linux 5.15+, cgroup v2 and v1): they run only when
	// nothing else on the CPU wants to, and a waking business task preempts
	// them at once.
	IdleSched IdleMode = "sched-idle"
	// IdleMinShares: no cpu.idle; the smallest weight instead (v1
	// cpu.shares = 2, v2 cpu.weight = 1): batch still gets a sliver under
	// contention and a waking business task may wait a tick.
	IdleMinShares IdleMode = "min-shares"
)

// cpuDir is the CPU controller directory of cgroup parent under root.
func cpuDir(root, parent string) (string, Version, error) {
	if parent == "" || filepath.IsAbs(parent) || strings.Contains(parent, "..") {
		return "", 0, fmt.Errorf("cgroup parent %q: must be a relative path without ..", parent)
	}
	v, err := Detect(root)
	if err != nil {
		return "", 0, err
	}
	if v == V2 {
		return filepath.Join(root, parent), V2, nil
	}
	for _, ctl := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
		if _, err := os.Stat(filepath.Join(root, ctl, "cpu.shares")); err == nil {
			return filepath.Join(root, ctl, parent), V1, nil
		}
	}
	return "", 0, fmt.Errorf("cgroup root %s: no v1 cpu controller", root)
}

// SetIdle makes the batch parent cgroup (created if missing) yield the CPU
// to everything else: SCHED_IDLE through cpu.idle where the kernel has it,
// else the minimal weight. Tasks below the parent keep their own shares or
// caps among themselves.
func SetIdle(root, parent string) (IdleMode, error) {
	dir, v, err := cpuDir(root, parent)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create batch cgroup %s: %w", dir, err)
	}
	idle := filepath.Join(dir, "cpu.idle")
	if _, err := os.Stat(idle); err == nil {
		if err := writeFile(idle, "1"); err == nil {
			return IdleSched, nil
		}
		// A kernel that lists cpu.idle but refuses it: fall back.
	}
	file, value := "cpu.shares", "2"
	if v == V2 {
		file, value = "cpu.weight", "1"
	}
	if err := writeFile(filepath.Join(dir, file), value); err != nil {
		return "", fmt.Errorf("batch cgroup %s: neither cpu.idle nor minimal weight: %w", dir, err)
	}
	return IdleMinShares, nil
}

// ClearIdle gives the batch parent its ordinary weight back (cpu.idle = 0,
// v1 cpu.shares = 1024, v2 cpu.weight = 100). A missing parent is no error.
func ClearIdle(root, parent string) error {
	dir, v, err := cpuDir(root, parent)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if p := filepath.Join(dir, "cpu.idle"); exists(p) {
		if err := writeFile(p, "0"); err != nil {
			return err
		}
	}
	file, value := "cpu.shares", "1024"
	if v == V2 {
		file, value = "cpu.weight", "100"
	}
	return writeFile(filepath.Join(dir, file), value)
}

// Idle reports the parent's current mode ("" when it yields nothing).
func Idle(root, parent string) (IdleMode, error) {
	dir, v, err := cpuDir(root, parent)
	if err != nil {
		return "", err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cpu.idle")); err == nil && strings.TrimSpace(string(b)) == "1" {
		return IdleSched, nil
	}
	file, min := "cpu.shares", "2"
	if v == V2 {
		file, min = "cpu.weight", "1"
	}
	if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil && strings.TrimSpace(string(b)) == min {
		return IdleMinShares, nil
	}
	return "", nil
}
