package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type v2 struct{ dir string }

var _ Manager = (*v2)(nil)

func newV2(cfg Config, name string) (*v2, error) {
	parent := filepath.Join(cfg.Root, cfg.Parent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", parent, err)
	}
	// Delegate the controllers to task cgroups (best effort: a fixture or a
	// parent without them just gets fewer limits).
	if b, err := os.ReadFile(filepath.Join(parent, "cgroup.controllers")); err == nil {
		var enable []string
		for _, c := range strings.Fields(string(b)) {
			if c == "cpu" || c == "memory" || c == "pids" {
				enable = append(enable, "+"+c)
			}
		}
		if len(enable) > 0 {
			_ = writeFile(filepath.Join(parent, "cgroup.subtree_control"), strings.Join(enable, " "))
		}
	}
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	return &v2{dir: dir}, nil
}

func (m *v2) Paths() []string { return []string{m.dir} }

// ReapplyCPU has nothing to do: v2 accepts a child cpu.max above the parent's.
func (m *v2) ReapplyCPU() (bool, error) { return false, nil }

func (m *v2) Set(r Resources) error {
	if r.CPUs > 0 {
		if r.HardCap {
			quota, period := r.cfsQuota()
			if err := writeFile(filepath.Join(m.dir, "cpu.max"), fmt.Sprintf("%d %d", quota, period)); err != nil {
				return err
			}
		} else {
			// v1 shares 2..262144 map onto weight 1..10000.
			weight := 1 + ((r.cpuShares()-2)*9999)/262142
			if err := writeFile(filepath.Join(m.dir, "cpu.weight"), strconv.FormatInt(weight, 10)); err != nil {
				return err
			}
		}
	}
	if r.MemoryBytes > 0 {
		if err := writeFile(filepath.Join(m.dir, "memory.max"), strconv.FormatInt(r.MemoryBytes, 10)); err != nil {
			return err
		}
		if p := filepath.Join(m.dir, "memory.swap.max"); exists(p) {
			if err := writeFile(p, "0"); err != nil {
				return err
			}
		}
	}
	if r.Pids > 0 {
		if err := writeFile(filepath.Join(m.dir, "pids.max"), strconv.FormatInt(r.Pids, 10)); err != nil {
			return err
		}
	}
	return nil
}

func (m *v2) AddProc(pid int) error {
	return writeFile(filepath.Join(m.dir, "cgroup.procs"), strconv.Itoa(pid))
}

func (m *v2) Procs() ([]int, error) { return readProcs(m.dir) }

func (m *v2) Stats() (Stats, error) {
	var s Stats
	if kv, err := readKV(filepath.Join(m.dir, "cpu.stat")); err == nil {
		s.CPUSeconds = float64(kv["usage_usec"]) / 1e6
	}
	s.MemoryPeak, _ = readUint(filepath.Join(m.dir, "memory.peak"))
	s.MemoryNow, _ = readUint(filepath.Join(m.dir, "memory.current"))
	if s.MemoryPeak < s.MemoryNow {
		s.MemoryPeak = s.MemoryNow
	}
	if kv, err := readKV(filepath.Join(m.dir, "memory.events")); err == nil {
		s.OOMKills = kv["oom_kill"]
		s.MemFailures = kv["max"]
	}
	return s, nil
}

func (m *v2) Kill(timeout time.Duration) error {
	if p := filepath.Join(m.dir, "cgroup.kill"); exists(p) {
		_ = writeFile(p, "1")
	}
	return killAll(m.Paths(), m.Procs, timeout)
}

func (m *v2) Destroy() error {
	kerr := m.Kill(2 * time.Second)
	if err := rmdirs(m.Paths()); err != nil {
		return err
	}
	return kerr
}
