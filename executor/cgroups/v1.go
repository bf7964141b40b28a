package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type v1 struct {
	dirs map[string]string // controller → task cgroup dir

	mu           sync.Mutex
	pendingQuota int64 // intended cfs quota the kernel refused (0: none)
}

var _ Manager = (*v1)(nil)

func newV1(cfg Config, name string) (*v1, error) {
	m := &v1{dirs: map[string]string{}}
	for _, c := range v1Controllers {
		base := filepath.Join(cfg.Root, c)
		if _, err := os.Stat(base); err != nil {
			continue // controller not mounted
		}
		dir := filepath.Join(base, cfg.Parent, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		m.dirs[c] = dir
	}
	if _, ok := m.dirs["memory"]; !ok {
		return nil, fmt.Errorf("cgroup v1 under %s: no memory controller", cfg.Root)
	}
	return m, nil
}

func (m *v1) Paths() []string {
	var out []string
	for _, c := range v1Controllers {
		if d, ok := m.dirs[c]; ok {
			out = append(out, d)
		}
	}
	return out
}

func (m *v1) Set(r Resources) error {
	if d, ok := m.dirs["cpu"]; ok && r.CPUs > 0 {
		if r.HardCap {
			quota, period := r.cfsQuota()
			if err := writeFile(filepath.Join(d, "cpu.cfs_period_us"), strconv.FormatUint(period, 10)); err != nil {
				return err
			}
			m.mu.Lock()
			m.pendingQuota = 0
			m.mu.Unlock()
			err := writeFile(filepath.Join(d, "cpu.cfs_quota_us"), strconv.FormatInt(quota, 10))
			if errors.Is(err, syscall.EINVAL) {
				// The parent is capped below this quota (the monitor throttles
				// the batch parent): inherit its cap for now and apply ours
				// once it is lifted (ReapplyCPU).
				if err := writeFile(filepath.Join(d, "cpu.cfs_quota_us"), "-1"); err != nil {
					return err
				}
				m.mu.Lock()
				m.pendingQuota = quota
				m.mu.Unlock()
			} else if err != nil {
				return err
			}
		} else {
			if err := writeFile(filepath.Join(d, "cpu.shares"), strconv.FormatInt(r.cpuShares(), 10)); err != nil {
				return err
			}
		}
	}
	if d := m.dirs["memory"]; r.MemoryBytes > 0 {
		lim := strconv.FormatInt(r.MemoryBytes, 10)
		// memsw must stay >= limit: raise memsw first when growing... the
		// cgroup is fresh, so set limit then memsw (memsw starts unlimited).
		if err := writeFile(filepath.Join(d, "memory.limit_in_bytes"), lim); err != nil {
			return err
		}
		if p := filepath.Join(d, "memory.memsw.limit_in_bytes"); exists(p) {
			if err := writeFile(p, lim); err != nil {
				return err
			}
		}
		if p := filepath.Join(d, "memory.swappiness"); exists(p) {
			_ = writeFile(p, "0") // not writable on every kernel; memsw already forbids swap
		}
	}
	if d, ok := m.dirs["pids"]; ok && r.Pids > 0 {
		if err := writeFile(filepath.Join(d, "pids.max"), strconv.FormatInt(r.Pids, 10)); err != nil {
			return err
		}
	}
	return nil
}

// ReapplyCPU writes a CFS quota the kernel refused in Set; it stays pending
// while the parent's cap is still below it.
func (m *v1) ReapplyCPU() (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pendingQuota == 0 {
		return false, nil
	}
	err := writeFile(filepath.Join(m.dirs["cpu"], "cpu.cfs_quota_us"), strconv.FormatInt(m.pendingQuota, 10))
	if errors.Is(err, syscall.EINVAL) {
		return true, nil
	}
	if err != nil {
		return true, err
	}
	m.pendingQuota = 0
	return false, nil
}

func (m *v1) AddProc(pid int) error {
	for _, d := range m.Paths() {
		if err := writeFile(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

func (m *v1) Procs() ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, d := range m.Paths() {
		pids, err := readProcs(d)
		if err != nil {
			return nil, err
		}
		for _, p := range pids {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func (m *v1) Stats() (Stats, error) {
	var s Stats
	if d, ok := m.dirs["cpuacct"]; ok {
		if ns, err := readUint(filepath.Join(d, "cpuacct.usage")); err == nil {
			s.CPUSeconds = float64(ns) / 1e9
		}
	}
	d := m.dirs["memory"]
	var err error
	if s.MemoryPeak, err = readUint(filepath.Join(d, "memory.max_usage_in_bytes")); err != nil {
		return s, fmt.Errorf("cgroup stats: %w", err)
	}
	s.MemoryNow, _ = readUint(filepath.Join(d, "memory.usage_in_bytes"))
	s.MemFailures, _ = readUint(filepath.Join(d, "memory.failcnt"))
	if kv, err := readKV(filepath.Join(d, "memory.oom_control")); err == nil {
		s.OOMKills = kv["oom_kill"]
	}
	return s, nil
}

func (m *v1) Kill(timeout time.Duration) error { return killAll(m.Paths(), m.Procs, timeout) }

func (m *v1) Destroy() error {
	kerr := m.Kill(2 * time.Second)
	if err := rmdirs(m.Paths()); err != nil {
		return err
	}
	return kerr
}
