package sampler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/rootfs"
)

// Config says where to read from. Zero fields take the defaults below.
type Config struct {
	ProcRoot     string // default /proc
	SysRoot      string // default /sys
	CgroupRoot   string // default /sys/fs/cgroup
	CgroupParent string // default gleaner: the batch cgroups' parent
	// ExecutorBinary is the base name of argv[0] of the Gleaner executor
	// processes (argv[1] must be "executor"); default gleaner.
	ExecutorBinary string
	// BatchDiskDirs are host directories whose disk use is batch disk: the
	// executors' shared bundle cache (executor --bundle-cache), which lies
	// outside every task's sandbox and quota.
	BatchDiskDirs []string
	// DiskInterval is how often BatchDiskDirs are walked (default 30s);
	// readings in between report the last walk.
	DiskInterval time.Duration
	// ProcScanInterval is how often the whole process table is scanned for
	// new executor processes (default 10s); in between only the executors
	// already found are read. An executor spends little CPU of its own
	// (its tasks run in the batch cgroups), so one found late costs little.
	ProcScanInterval time.Duration
	// NewExecutor, if set, is called with the pid of each executor process
	// the first time a scan finds it (the monitor makes it SCHED_IDLE).
	NewExecutor func(pid int)
}

func (c *Config) defaults() {
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.SysRoot == "" {
		c.SysRoot = "/sys"
	}
	if c.CgroupRoot == "" {
		c.CgroupRoot = "/sys/fs/cgroup"
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "gleaner"
	}
	if c.ExecutorBinary == "" {
		c.ExecutorBinary = "gleaner"
	}
	if c.DiskInterval <= 0 {
		c.DiskInterval = 30 * time.Second
	}
	if c.ProcScanInterval <= 0 {
		c.ProcScanInterval = 10 * time.Second
	}
}

// clockTicks is USER_HZ, 100 on every Linux architecture Gleaner targets.
const clockTicks = 100

// Counters are the raw cumulative readings at one instant.
type Counters struct {
	Time        time.Time
	NumCPU      int
	HostTotal   float64 // cpu seconds, all states
	HostIdle    float64 // cpu seconds idle + iowait
	MemTotal    uint64  // bytes
	MemUsed     uint64  // bytes: total - available
	BatchCPU    float64 // cpu seconds used by the batch cgroups and executors
	BatchMem    uint64  // bytes: batch cgroups' working set + executors' RSS
	BatchDisk   uint64  // bytes: disk used under BatchDiskDirs (du)
	Executors   int
	CgroupFound bool
	// CPUSome and MemSome are the host's PSI "some" stall totals (µs of
	// /proc/pressure/cpu and /proc/pressure/memory); PressureFound is false
	// on kernels without PSI.
	CPUSome, MemSome uint64
	PressureFound    bool
}

// Sample is one measurement, as rates over the interval between two
// readings.
type Sample struct {
	Time     time.Time
	Capacity policy.Resources
	Used     policy.Resources
	Batch    policy.Resources
	Business policy.Resources
	// Executors is how many executor processes outside the batch cgroups
	// were counted as batch.
	Executors int
	// BatchDiskMB is the disk batch work holds outside task sandboxes
	// (Config.BatchDiskDirs: the bundle cache).
	BatchDiskMB float64
	// CPUPressure and MemPressure are the shares of the interval (0..1)
	// in which some task waited for a CPU or stalled on memory (PSI
	// "some"); 0 without PSI.
	CPUPressure, MemPressure float64
}

// Sampler reads Counters and turns consecutive readings into Samples.
type Sampler struct {
	cfg   Config
	v2    bool
	procs map[int]procInfo // pid → classification, keyed with start time
	prev  *Counters
	fast  *fastCounters // CPU's own previous reading

	diskAt time.Time // last walk of BatchDiskDirs
	disk   uint64

	files  fileReader // reused buffer for procfs and cgroup files
	scanAt time.Time  // last full scan of the process table
}

type fastCounters struct {
	total, idle, batch float64
	ncpu               int
}

type procInfo struct {
	start    uint64
	executor bool
}

// New returns a Sampler for cfg; it detects cgroup v1 or v2 under the root.
func New(cfg Config) (*Sampler, error) {
	cfg.defaults()
	if _, err := os.Stat(filepath.Join(cfg.ProcRoot, "stat")); err != nil {
		return nil, fmt.Errorf("proc root %s: %w", cfg.ProcRoot, err)
	}
	if strings.ContainsAny(cfg.CgroupParent, "\x00") || filepath.IsAbs(cfg.CgroupParent) || strings.Contains(cfg.CgroupParent, "..") {
		return nil, fmt.Errorf("cgroup parent %q: must be a relative path without ..", cfg.CgroupParent)
	}
	for _, d := range cfg.BatchDiskDirs {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("batch disk directory %q: must be an absolute path", d)
		}
	}
	_, err := os.Stat(filepath.Join(cfg.CgroupRoot, "cgroup.controllers"))
	s := &Sampler{
		cfg:   cfg,
		v2:    err == nil,
		procs: map[int]procInfo{},
	}
	return s, nil
}

// Close closes the procfs files the sampler keeps open.
func (s *Sampler) Close() { s.files.close() }

// CgroupV2 reports whether the unified hierarchy was detected.
func (s *Sampler) CgroupV2() bool { return s.v2 }

// Sample reads the counters and returns the rates since the previous call.
// The first call only primes the counters and returns ok false.
func (s *Sampler) Sample(ctx context.Context) (smp Sample, ok bool, err error) {
	cur, err := s.Read(ctx)
	if err != nil {
		return Sample{}, false, err
	}
	prev := s.prev
	s.prev = &cur
	if prev == nil {
		return Sample{}, false, nil
	}
	return Compute(*prev, cur), true, nil
}

// Read takes one reading of every counter.
func (s *Sampler) Read(ctx context.Context) (Counters, error) {
	c := Counters{Time: time.Now()}
	if err := ctx.Err(); err != nil {
		return c, err
	}
	h, err := s.hostCPU()
	if err != nil {
		return c, err
	}
	c.HostTotal, c.HostIdle, c.NumCPU = h.total, h.idle, h.ncpu
	b, err := s.files.keep(filepath.Join(s.cfg.ProcRoot, "meminfo"))
	if err != nil {
		return c, fmt.Errorf("read host memory: %w", err)
	}
	total, avail, err := ParseMeminfo(b)
	if err != nil {
		return c, fmt.Errorf("read host memory: %w", err)
	}
	c.MemTotal = total
	if avail < total {
		c.MemUsed = total - avail
	}
	if err := s.readCgroups(&c); err != nil {
		return c, err
	}
	if err := s.readExecutors(&c); err != nil {
		return c, err
	}
	c.BatchDisk = s.batchDisk(c.Time)
	s.readPressure(&c)
	return c, nil
}

// readPressure reads the host's PSI totals; a kernel without PSI (or with
// psi=0) leaves PressureFound false.
func (s *Sampler) readPressure(c *Counters) {
	cpuSome, err1 := s.readPSISome(filepath.Join(s.cfg.ProcRoot, "pressure", "cpu"))
	memSome, err2 := s.readPSISome(filepath.Join(s.cfg.ProcRoot, "pressure", "memory"))
	if err1 != nil || err2 != nil {
		return
	}
	c.CPUSome, c.MemSome, c.PressureFound = cpuSome, memSome, true
}

// maxPSIFile bounds what is read of a PSI file (two short lines).
const maxPSIFile = 512

// readPSISome returns the total= of the "some" line of a PSI file.
func (s *Sampler) readPSISome(path string) (uint64, error) {
	b, err := s.files.keep(path)
	if err != nil {
		return 0, err
	}
	if len(b) > maxPSIFile {
		b = b[:maxPSIFile]
	}
	return ParsePSISome(b)
}

// ParsePSISome extracts total= (µs) from the "some" line of a PSI file:
// "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345".
func ParsePSISome(b []byte) (uint64, error) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if !bytes.HasPrefix(line, []byte("some ")) {
			continue
		}
		i := bytes.Index(line, []byte("total="))
		if i < 0 {
			break
		}
		v := line[i+len("total="):]
		if j := bytes.IndexByte(v, ' '); j >= 0 {
			v = v[:j]
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("psi total %q: %w", v, err)
		}
		return n, nil
	}
	return 0, errors.New("psi: no \"some ... total=\" line")
}

// hostCPU reads /proc/stat.
func (s *Sampler) hostCPU() (hostCPU, error) {
	b, err := s.files.keep(filepath.Join(s.cfg.ProcRoot, "stat"))
	if err != nil {
		return hostCPU{}, fmt.Errorf("read host cpu times: %w", err)
	}
	h, err := ParseProcStat(b)
	if err != nil {
		return hostCPU{}, fmt.Errorf("read host cpu times: %w", err)
	}
	return h, nil
}

// batchDisk is the disk use under BatchDiskDirs, walked at most every
// DiskInterval (a missing directory uses nothing).
func (s *Sampler) batchDisk(now time.Time) uint64 {
	if len(s.cfg.BatchDiskDirs) == 0 || (!s.diskAt.IsZero() && now.Sub(s.diskAt) < s.cfg.DiskInterval) {
		return s.disk
	}
	var total int64
	for _, d := range s.cfg.BatchDiskDirs {
		total += rootfs.DiskUsage(d)
	}
	s.disk, s.diskAt = uint64(total), now
	return s.disk
}

// CPU is the cheap between-samples reading: host capacity, busy CPU and the
// batch cgroups' CPU (executors outside them are left out) since the
// previous CPU call, with counters of its own. The first call returns ok
// false.
func (s *Sampler) CPU(ctx context.Context) (capacity, used, batch float64, ok bool, err error) {
	h, err := s.hostCPU()
	if err != nil {
		return 0, 0, 0, false, err
	}
	cur := fastCounters{total: h.total, idle: h.idle, ncpu: h.ncpu}
	var c Counters
	if err := s.readBatchCPU(&c); err != nil {
		return 0, 0, 0, false, err
	}
	cur.batch = c.BatchCPU
	prev := s.fast
	s.fast = &cur
	if prev == nil || cur.total <= prev.total || cur.ncpu <= 0 {
		return float64(cur.ncpu), 0, 0, false, nil
	}
	wall := (cur.total - prev.total) / float64(cur.ncpu)
	used = clamp((cur.total-prev.total-(cur.idle-prev.idle))/wall, 0, float64(cur.ncpu))
	batch = clamp((cur.batch-prev.batch)/wall, 0, used)
	return float64(cur.ncpu), used, batch, true, nil
}

// Compute turns two readings into rates. It is pure.
func Compute(prev, cur Counters) Sample {
	const mb = 1024 * 1024
	smp := Sample{
		Time:        cur.Time,
		Capacity:    policy.Resources{CPUs: float64(cur.NumCPU), MemMB: float64(cur.MemTotal) / mb},
		Executors:   cur.Executors,
		BatchDiskMB: float64(cur.BatchDisk) / mb,
	}
	dTotal := cur.HostTotal - prev.HostTotal
	if dTotal > 0 && cur.NumCPU > 0 {
		wall := dTotal / float64(cur.NumCPU) // seconds of wall time
		busy := (dTotal - (cur.HostIdle - prev.HostIdle)) / wall
		batch := (cur.BatchCPU - prev.BatchCPU) / wall
		smp.Used.CPUs = clamp(busy, 0, float64(cur.NumCPU))
		smp.Batch.CPUs = clamp(batch, 0, smp.Used.CPUs)
	}
	if cur.PressureFound && prev.PressureFound && cur.Time.After(prev.Time) {
		us := float64(cur.Time.Sub(prev.Time).Microseconds())
		if cur.CPUSome >= prev.CPUSome {
			smp.CPUPressure = clamp(float64(cur.CPUSome-prev.CPUSome)/us, 0, 1)
		}
		if cur.MemSome >= prev.MemSome {
			smp.MemPressure = clamp(float64(cur.MemSome-prev.MemSome)/us, 0, 1)
		}
	}
	smp.Used.MemMB = float64(cur.MemUsed) / mb
	smp.Batch.MemMB = min(float64(cur.BatchMem)/mb, smp.Used.MemMB)
	smp.Business = policy.Resources{
		CPUs:  max(smp.Used.CPUs-smp.Batch.CPUs, 0),
		MemMB: max(smp.Used.MemMB-smp.Batch.MemMB, 0),
	}
	return smp
}

func clamp(v, lo, hi float64) float64 { return max(lo, min(v, hi)) }

// readCgroups adds the batch parent cgroup's usage (it includes every task
// cgroup below it). A missing parent means no batch work yet.
func (s *Sampler) readCgroups(c *Counters) error {
	if err := s.readBatchCPU(c); err != nil {
		return err
	}
	return s.readBatchMem(c)
}

func (s *Sampler) readBatchCPU(c *Counters) error {
	root, parent := s.cfg.CgroupRoot, s.cfg.CgroupParent
	if s.v2 {
		b, err := s.files.read(filepath.Join(root, parent, "cpu.stat"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read batch cgroup cpu: %w", err)
		}
		c.CgroupFound = true
		usec, _ := kvValue(b, "usage_usec")
		c.BatchCPU += float64(usec) / 1e6
		return nil
	}
	for _, ctl := range []string{"cpuacct", "cpu,cpuacct", "cpuacct,cpu"} {
		usage, err := s.readUint(filepath.Join(root, ctl, parent, "cpuacct.usage"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read batch cgroup cpu: %w", err)
		}
		c.CgroupFound = true
		c.BatchCPU += float64(usage) / 1e9
		return nil
	}
	return nil
}

func (s *Sampler) readBatchMem(c *Counters) error {
	root, parent := s.cfg.CgroupRoot, s.cfg.CgroupParent
	usageFile, inactiveKey := filepath.Join(root, "memory", parent, "memory.usage_in_bytes"), "total_inactive_file"
	if s.v2 {
		usageFile, inactiveKey = filepath.Join(root, parent, "memory.current"), "inactive_file"
	}
	usage, err := s.readUint(usageFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read batch cgroup memory: %w", err)
	}
	c.CgroupFound = true
	var inactive uint64
	if b, err := s.files.read(filepath.Join(filepath.Dir(usageFile), "memory.stat")); err == nil {
		inactive, _ = kvValue(b, inactiveKey)
	}
	c.BatchMem += workingSet(usage, inactive)
	return nil
}

// workingSet is usage less inactive page cache, as the kubelet counts it.
func workingSet(usage, inactive uint64) uint64 {
	if inactive > usage {
		return 0
	}
	return usage - inactive
}

// readExecutors adds the CPU time and RSS of the Gleaner executor processes
// that live outside the batch cgroups. Each new pid is classified once.
func (s *Sampler) readExecutors(c *Counters) error {
	if !s.scanAt.IsZero() && c.Time.Sub(s.scanAt) < s.cfg.ProcScanInterval && c.Time.After(s.scanAt) {
		return s.readKnownExecutors(c)
	}
	s.scanAt = c.Time
	entries, err := os.ReadDir(s.cfg.ProcRoot)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	seen := make(map[int]bool, len(s.procs))
	page := uint64(os.Getpagesize())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		info, ok := s.procs[pid]
		if ok && !info.executor {
			// Known and not an executor: skip reading it again (a pid
			// reused between two samples is missed until it exits).
			seen[pid] = true
			continue
		}
		st, err := s.readProcStat(filepath.Join(s.cfg.ProcRoot, e.Name(), "stat"))
		if err != nil {
			continue // the process ended meanwhile
		}
		seen[pid] = true
		if !ok || info.start != st.start {
			info = procInfo{start: st.start, executor: s.isExecutor(e.Name())}
			s.procs[pid] = info
			if info.executor && s.cfg.NewExecutor != nil {
				s.cfg.NewExecutor(pid)
			}
		}
		if !info.executor {
			continue
		}
		c.Executors++
		c.BatchCPU += float64(st.utime+st.stime) / clockTicks
		c.BatchMem += st.rss * page
	}
	for pid := range s.procs {
		if !seen[pid] {
			delete(s.procs, pid)
		}
	}
	return nil
}

// readKnownExecutors adds the executors found by the last scan, dropping
// those that ended (or whose pid was reused).
func (s *Sampler) readKnownExecutors(c *Counters) error {
	page := uint64(os.Getpagesize())
	var path []byte
	for pid, info := range s.procs {
		if !info.executor {
			continue
		}
		path = strconv.AppendInt(append(append(path[:0], s.cfg.ProcRoot...), '/'), int64(pid), 10)
		path = append(path, "/stat"...)
		st, err := s.readProcStat(string(path))
		if err != nil || st.start != info.start {
			delete(s.procs, pid)
			continue
		}
		c.Executors++
		c.BatchCPU += float64(st.utime+st.stime) / clockTicks
		c.BatchMem += st.rss * page
	}
	return nil
}

// isExecutor: argv is "<...>/gleaner executor ..." and the process is not
// already inside the batch parent cgroup (whose usage is counted whole).
func (s *Sampler) isExecutor(pid string) bool {
	b, err := os.ReadFile(filepath.Join(s.cfg.ProcRoot, pid, "cmdline"))
	if err != nil {
		return false
	}
	argv := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	if len(argv) < 2 || filepath.Base(string(argv[0])) != s.cfg.ExecutorBinary || string(argv[1]) != "executor" {
		return false
	}
	cg, err := os.ReadFile(filepath.Join(s.cfg.ProcRoot, pid, "cgroup"))
	if err != nil {
		return true
	}
	prefix := "/" + strings.Trim(s.cfg.CgroupParent, "/")
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctl := parts[1]
		inV1CPU := strings.Contains(ctl, "cpuacct")
		if (s.v2 && ctl == "") || (!s.v2 && inV1CPU) {
			p := parts[2]
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				return false
			}
		}
	}
	return true
}

type procStat struct {
	utime, stime, start, rss uint64
}

// readProcStat parses /proc/<pid>/stat.
func (s *Sampler) readProcStat(path string) (procStat, error) {
	b, err := s.files.read(path)
	if err != nil {
		return procStat{}, err
	}
	st, err := ParseProcPidStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("parse %s: %w", path, err)
	}
	return st, nil
}

// ParseProcPidStat reads utime, stime, starttime and rss from the fields
// of /proc/<pid>/stat after the command name (which may hold spaces and
// parentheses), without allocating.
func ParseProcPidStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("no command name")
	}
	var st procStat
	dst := [...]struct {
		idx int
		p   *uint64
	}{{11, &st.utime}, {12, &st.stime}, {19, &st.start}, {21, &st.rss}}
	f, k := b[i+1:], 0
	for field := 0; k < len(dst); field++ {
		f = bytes.TrimLeft(f, " ")
		if len(f) == 0 {
			return procStat{}, fmt.Errorf("%d fields, want at least %d", field, dst[len(dst)-1].idx+1)
		}
		j := bytes.IndexAny(f, " \n")
		if j < 0 {
			j = len(f)
		}
		if field == dst[k].idx {
			v, ok := atou(f[:j])
			if !ok {
				return procStat{}, fmt.Errorf("field %d: %q is not a number", field+3, f[:j])
			}
			*dst[k].p = v
			k++
		}
		f = f[j:]
	}
	return st, nil
}

func (s *Sampler) readUint(path string) (uint64, error) {
	b, err := s.files.read(path)
	if err != nil {
		return 0, err
	}
	v, ok := atou(bytes.TrimSpace(b))
	if !ok {
		return 0, fmt.Errorf("parse %s: %q is not a number", path, bytes.TrimSpace(b))
	}
	return v, nil
}
