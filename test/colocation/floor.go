package colocation

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// IdleBatch is batch work without Gleaner: plain processes doing the batch
// job's work (shell busy loops and the memory-streaming dd) in one cgroup
// with cpu.idle = 1, so every one of them runs SCHED_IDLE, optionally
// confined to some CPUs (a cpuset). It is the floor of the co-location cost
// (scenarios f and g): the best a priority-based policy can do, with no
// scheduler, agent, executor or monitor beside the business service.
type IdleBatch struct {
	cg     Cgroup
	cpuset string // cpuset cgroup directory ("" when not pinned)
	procs  []*exec.Cmd
}

// IdleBatchConfig says what an IdleBatch runs.
type IdleBatchConfig struct {
	Root, Name string // cgroup root (/sys/fs/cgroup) and the cgroup's name
	Loops      int    // CPU-bound busy loops (sh: while :; do :; done)
	MemoryTask bool   // also one dd streaming 256 MiB blocks through memory
	CPUs       string // cpuset of the batch ("1", "0-2"); "" for every CPU
}

// The batch job's commands, as the Gleaner job of scenarios (b)–(e) runs them.
const (
	busyLoopScript = "while :; do :; done"
	memoryScript   = "exec dd if=/dev/zero of=/dev/null bs=256M count=1000000000" // exec: the process killed is dd
)

// StartIdleBatch makes the cgroup idle (and pinned, with CPUs) and starts
// the processes in it. A kernel without cpu.idle is an error: the floor is
// defined by SCHED_IDLE.
func StartIdleBatch(cfg IdleBatchConfig) (*IdleBatch, error) {
	if cfg.Loops < 0 || cfg.Loops > 1024 {
		return nil, fmt.Errorf("idle batch: %d loops: want 0..1024", cfg.Loops)
	}
	if strings.ContainsAny(cfg.Name, "/.") || cfg.Name == "" {
		return nil, fmt.Errorf("idle batch: cgroup name %q: want one path element without dots", cfg.Name)
	}
	b := &IdleBatch{cg: NewCgroup(cfg.Root, cfg.Name)}
	for _, d := range b.cg.dirs() {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("idle batch: %w", err)
		}
	}
	idleFile := filepath.Join(cfg.Root, "cpu", cfg.Name, "cpu.idle")
	if b.cg.V2 {
		idleFile = filepath.Join(cfg.Root, cfg.Name, "cpu.idle")
	}
	if err := os.WriteFile(idleFile, []byte("1"), 0o644); err != nil {
		b.Stop()
		return nil, fmt.Errorf("idle batch: cpu.idle (kernel 5.15+): %w", err)
	}
	if cfg.CPUs != "" {
		if err := b.pin(cfg.Root, cfg.Name, cfg.CPUs); err != nil {
			b.Stop()
			return nil, err
		}
	}
	scripts := make([]string, 0, cfg.Loops+1)
	for i := 0; i < cfg.Loops; i++ {
		scripts = append(scripts, busyLoopScript)
	}
	if cfg.MemoryTask {
		scripts = append(scripts, memoryScript)
	}
	for _, s := range scripts {
		if err := b.start(s); err != nil {
			b.Stop()
			return nil, err
		}
	}
	return b, nil
}

// pin confines the cgroup to cpus: a v1 cpuset cgroup of the same name
// (mems copied from the root), or cpuset.cpus of the v2 cgroup.
func (b *IdleBatch) pin(root, name, cpus string) error {
	if b.cg.V2 {
		if err := os.WriteFile(filepath.Join(root, name, "cpuset.cpus"), []byte(cpus), 0o644); err != nil {
			return fmt.Errorf("idle batch: cpuset.cpus %q (is +cpuset in the root's cgroup.subtree_control?): %w", cpus, err)
		}
		return nil
	}
	dir := filepath.Join(root, "cpuset", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("idle batch: %w", err)
	}
	b.cpuset = dir
	mems, err := os.ReadFile(filepath.Join(root, "cpuset", "cpuset.mems"))
	if err != nil {
		return fmt.Errorf("idle batch: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cpuset.mems"), []byte(strings.TrimSpace(string(mems))), 0o644); err != nil {
		return fmt.Errorf("idle batch: cpuset.mems: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cpuset.cpus"), []byte(cpus), 0o644); err != nil {
		return fmt.Errorf("idle batch: cpuset.cpus %q: %w", cpus, err)
	}
	return nil
}

// start runs script under /bin/sh and moves it into the cgroup (and
// cpuset). It runs at normal priority for the moment between fork and the
// move, a few microseconds.
func (b *IdleBatch) start(script string) error {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("idle batch: start %q: %w", script, err)
	}
	b.procs = append(b.procs, cmd)
	pid := []byte(strconv.Itoa(cmd.Process.Pid))
	dirs := b.cg.dirs()
	if b.cpuset != "" {
		dirs = append(dirs, b.cpuset)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), pid, 0o644); err != nil {
			return fmt.Errorf("idle batch: move %d into %s: %w", cmd.Process.Pid, d, err)
		}
	}
	return nil
}

// Procs is the number of processes started.
func (b *IdleBatch) Procs() int { return len(b.procs) }

// CPUSeconds is the batch cgroup's CPU time.
func (b *IdleBatch) CPUSeconds() float64 { return b.cg.CPUSeconds() }

// Stop kills the processes and removes the cgroups.
func (b *IdleBatch) Stop() error {
	for _, p := range b.procs {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
	b.procs = nil
	dirs := append(b.cg.dirs(), b.cpuset)
	for _, d := range dirs { // anything the scripts may have forked
		raw, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(raw)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	var errs []error
	// A killed process leaves its cgroup a moment after wait returns
	// (v1 removal answers EBUSY until then).
	for _, d := range dirs {
		if d == "" {
			continue
		}
		var err error
		for try := 0; try < 50; try++ {
			if err = os.Remove(d); err == nil || errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.EBUSY) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
