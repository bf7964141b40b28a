package throttle

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MemoryLimit is the first, gentle step of memory reclaim, before any
// eviction: a limit on the batch parent cgroup above which the kernel
// reclaims batch memory first. cgroup v1 writes memory.soft_limit_in_bytes
// of <root>/memory/<parent> (the kernel reclaims groups above their soft
// limit first under host memory pressure); v2 writes memory.high of
// <root>/<parent> (allocations above it are throttled and reclaimed).
type MemoryLimit struct {
	file string
	v2   bool
}

// NewMemoryLimit finds the batch parent's memory limit file under root;
// the directory need not exist yet (Set creates it).
func NewMemoryLimit(root, parent string) (*MemoryLimit, error) {
	if parent == "" || filepath.IsAbs(parent) || strings.Contains(parent, "..") {
		return nil, fmt.Errorf("cgroup parent %q: must be a relative path without ..", parent)
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return &MemoryLimit{file: filepath.Join(root, parent, "memory.high"), v2: true}, nil
	}
	if _, err := os.Stat(filepath.Join(root, "memory", "memory.soft_limit_in_bytes")); err == nil {
		return &MemoryLimit{file: filepath.Join(root, "memory", parent, "memory.soft_limit_in_bytes")}, nil
	}
	return nil, fmt.Errorf("cgroup root %s: no cgroup v2 and no v1 memory controller with soft limits", root)
}

// Set limits batch memory at mb megabytes (at least 1 MB).
func (m *MemoryLimit) Set(mb float64) error {
	if mb < 0 || math.IsNaN(mb) || math.IsInf(mb, 0) {
		return fmt.Errorf("batch memory limit %v MB: must be a non-negative number", mb)
	}
	if err := os.MkdirAll(filepath.Dir(m.file), 0o755); err != nil {
		return fmt.Errorf("create batch cgroup %s: %w", filepath.Dir(m.file), err)
	}
	b := max(int64(mb*(1<<20)), 1<<20)
	return write(m.file, strconv.FormatInt(b, 10))
}

// Lift removes the limit (v1 -1, v2 max); a missing cgroup is no error.
func (m *MemoryLimit) Lift() error {
	if _, err := os.Stat(filepath.Dir(m.file)); err != nil {
		return nil
	}
	v := "-1"
	if m.v2 {
		v = "max"
	}
	return write(m.file, v)
}

// File is the limit file written.
func (m *MemoryLimit) File() string { return m.file }
