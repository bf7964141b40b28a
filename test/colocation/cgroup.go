package colocation

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Cgroup is a cgroup the harness reads (and, for the business service,
// creates): its CPU time and memory health, under v1 or v2.
type Cgroup struct {
	Root, Name string
	V2         bool
}

// NewCgroup names cgroup name under root (/sys/fs/cgroup), detecting v1 or v2.
func NewCgroup(root, name string) Cgroup {
	_, err := os.Stat(filepath.Join(root, "cgroup.controllers"))
	return Cgroup{Root: root, Name: name, V2: err == nil}
}

func (c Cgroup) dirs() []string {
	if c.V2 {
		return []string{filepath.Join(c.Root, c.Name)}
	}
	var out []string
	for _, ctl := range []string{"cpu", "cpuacct", "memory"} {
		out = append(out, filepath.Join(c.Root, ctl, c.Name))
	}
	return out
}

// Create makes the cgroup and moves pid into it.
func (c Cgroup) Create(pid int) error {
	for _, d := range c.dirs() {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", d, err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("move %d into %s: %w", pid, d, err)
		}
	}
	return nil
}

// SetMaxWeight gives the cgroup the largest CPU weight (v1 cpu.shares
// 262144, v2 cpu.weight 10000).
func (c Cgroup) SetMaxWeight() error {
	file, value := filepath.Join(c.Root, "cpu", c.Name, "cpu.shares"), "262144"
	if c.V2 {
		file, value = filepath.Join(c.Root, c.Name, "cpu.weight"), "10000"
	}
	if err := os.WriteFile(file, []byte(value), 0o644); err != nil {
		return fmt.Errorf("business cgroup weight: %w", err)
	}
	return nil
}

// Remove removes the (empty) cgroup; a missing one is no error.
func (c Cgroup) Remove() error {
	var errs []error
	for _, d := range c.dirs() {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CPUSeconds is the cgroup's cumulative CPU time (0 while it does not exist).
func (c Cgroup) CPUSeconds() float64 {
	if c.V2 {
		kv := readKV(filepath.Join(c.Root, c.Name, "cpu.stat"))
		return float64(kv["usage_usec"]) / 1e6
	}
	b, err := os.ReadFile(filepath.Join(c.Root, "cpuacct", c.Name, "cpuacct.usage"))
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return float64(v) / 1e9
}

// MemoryHealth is the cgroup's OOM kills and swapped-out bytes.
func (c Cgroup) MemoryHealth() (oomKills, swapBytes uint64) {
	if c.V2 {
		ev := readKV(filepath.Join(c.Root, c.Name, "memory.events"))
		b, _ := os.ReadFile(filepath.Join(c.Root, c.Name, "memory.swap.current"))
		swap, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		return ev["oom_kill"], swap
	}
	oc := readKV(filepath.Join(c.Root, "memory", c.Name, "memory.oom_control"))
	st := readKV(filepath.Join(c.Root, "memory", c.Name, "memory.stat"))
	return oc["oom_kill"], st["swap"]
}

func readKV(path string) map[string]uint64 {
	m := map[string]uint64{}
	b, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				m[f[0]] = v
			}
		}
	}
	return m
}

// MetricSums parses Prometheus text exposition and sums each metric's
// samples over their labels (enough for the monitor's gauges and counters).
func MetricSums(text string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.IndexAny(line, "{ ")
		if i < 0 {
			continue
		}
		name, rest := line[:i], line[i:]
		if rest[0] == '{' {
			j := strings.LastIndexByte(rest, '}')
			if j < 0 {
				continue
			}
			rest = rest[j+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			out[name] += v
		}
	}
	return out
}
