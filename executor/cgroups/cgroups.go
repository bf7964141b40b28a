package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Version is the cgroup hierarchy flavour.
type Version int

// The versions Detect tells apart.
const (
	V1 Version = 1
	V2 Version = 2
)

func (v Version) String() string { return "v" + strconv.Itoa(int(v)) }

// DefaultRoot is where cgroup file systems are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// DefaultPeriodUS is the CFS period used for hard caps.
const DefaultPeriodUS = 100000

// v1Controllers are the v1 hierarchies a task cgroup is created in.
var v1Controllers = []string{"cpu", "cpuacct", "memory", "pids"}

// Detect tells v1 from v2 under root: v2 has cgroup.controllers at its top;
// v1 has one directory per controller (cpu, memory, ...).
func Detect(root string) (Version, error) {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return V2, nil
	}
	for _, c := range []string{"memory", "cpu"} {
		if fi, err := os.Stat(filepath.Join(root, c)); err == nil && fi.IsDir() {
			return V1, nil
		}
	}
	return 0, fmt.Errorf("detect cgroups under %s: neither cgroup.controllers (v2) nor controller directories (v1)", root)
}

// Resources are the limits of one task; zero fields are left unset.
type Resources struct {
	// CPUs is the task's CPU allocation; with HardCap it becomes a CFS quota
	// of CPUs × period, otherwise shares (v1 cpu.shares = 1024 × CPUs; v2 weight).
	CPUs     float64
	HardCap  bool
	PeriodUS uint64
	// MemoryBytes is the memory limit; swap is turned off for the cgroup.
	MemoryBytes int64
	// Pids bounds the number of processes.
	Pids int64
}

// cfsQuota is the hard cap as a CFS quota and period in µs: CPUs × period
// (PeriodUS, DefaultPeriodUS if unset), at least the kernel's minimum of 1000.
func (r Resources) cfsQuota() (quota int64, period uint64) {
	period = r.PeriodUS
	if period == 0 {
		period = DefaultPeriodUS
	}
	quota = int64(r.CPUs * float64(period))
	if quota < 1000 {
		quota = 1000 // the kernel's minimum
	}
	return quota, period
}

// cpuShares is the v1 cpu.shares of a soft CPU allocation: 1024 × CPUs, at
// least 2.
func (r Resources) cpuShares() int64 {
	shares := int64(r.CPUs * 1024)
	if shares < 2 {
		shares = 2
	}
	return shares
}

// Stats is what a cgroup reports.
type Stats struct {
	CPUSeconds  float64
	MemoryPeak  uint64
	MemoryNow   uint64
	OOMKills    uint64
	MemFailures uint64
}

// Manager is one task's cgroup.
type Manager interface {
	// Paths lists the directories of the cgroup (one per v1 controller).
	Paths() []string
	// Set writes the limits.
	Set(r Resources) error
	// ReapplyCPU retries a CPU quota the kernel refused in Set because the
	// parent cgroup was capped below it (cgroup v1; the cgroup inherits the
	// parent's cap meanwhile). It reports whether a quota is still pending.
	ReapplyCPU() (pending bool, err error)
	// AddProc moves a process into the cgroup.
	AddProc(pid int) error
	// Procs lists the processes in the cgroup.
	Procs() ([]int, error)
	// Stats reads usage and OOM counters.
	Stats() (Stats, error)
	// Kill sends SIGKILL to every process in the cgroup until it is empty or the timeout passes.
	Kill(timeout time.Duration) error
	// Destroy kills what is left and removes the cgroup.
	Destroy() error
}

// Config says where task cgroups live.
type Config struct {
	Root   string // default /sys/fs/cgroup
	Parent string // default "gleaner"
}

// New creates (or reopens) the cgroup Parent/name under the detected hierarchy.
func New(cfg Config, name string) (Manager, error) {
	if cfg.Root == "" {
		cfg.Root = DefaultRoot
	}
	if cfg.Parent == "" {
		cfg.Parent = "gleaner"
	}
	if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
		return nil, fmt.Errorf("cgroup name %q: must be one path element", name)
	}
	if strings.Contains(cfg.Parent, "..") {
		return nil, fmt.Errorf("cgroup parent %q: must not contain ..", cfg.Parent)
	}
	v, err := Detect(cfg.Root)
	if err != nil {
		return nil, err
	}
	if v == V2 {
		return newV2(cfg, name)
	}
	return newV1(cfg, name)
}

func writeFile(p, v string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func readUint(p string) (uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKV reads "key value" lines (memory.events, cpu.stat, memory.oom_control).
func readKV(p string) (map[string]uint64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			if v, err := strconv.ParseUint(fields[1], 10, 64); err == nil {
				m[fields[0]] = v
			}
		}
	}
	return m, sc.Err()
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func readProcs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var pids []int
	for _, l := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(l); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

func killAll(dirs []string, procs func() ([]int, error), timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, err := procs()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: %d processes left after SIGKILL", dirs[0], len(pids))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func rmdirs(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		var err error
		for i := 0; i < 50; i++ {
			err = os.Remove(d)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				err = nil
				break
			}
			if !errors.Is(err, syscall.EBUSY) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}
