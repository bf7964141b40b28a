package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// StaleAge is how long a task cgroup must have existed, empty, before
// SweepStale removes it: far longer than an executor takes between creating
// a task's cgroup and moving the task into it.
const StaleAge = 10 * time.Minute

// SweepStale removes the task cgroups under cfg.Parent that hold no process
// and were created before now − minAge: the ones left by an executor that was
// killed before it could destroy them (SIGKILL from the agent, the OOM killer,
// a host crash). A cgroup with a process in it is never touched — the kernel
// refuses to remove it — and a younger one may belong to an executor still
// starting its task. It returns the directories removed.
func SweepStale(cfg Config, minAge time.Duration, now time.Time) ([]string, error) {
	if cfg.Root == "" {
		cfg.Root = DefaultRoot
	}
	if cfg.Parent == "" {
		cfg.Parent = "gleaner"
	}
	if strings.Contains(cfg.Parent, "..") {
		return nil, fmt.Errorf("cgroup parent %q: must not contain ..", cfg.Parent)
	}
	v, err := Detect(cfg.Root)
	if err != nil {
		return nil, err
	}
	parents := []string{filepath.Join(cfg.Root, cfg.Parent)}
	if v == V1 {
		parents = parents[:0]
		for _, c := range v1Controllers {
			parents = append(parents, filepath.Join(cfg.Root, c, cfg.Parent))
		}
	}
	var removed []string
	var errs []error
	for _, parent := range parents {
		entries, err := os.ReadDir(parent)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(parent, e.Name())
			if !staleAndEmpty(dir, minAge, now) {
				continue
			}
			err := os.Remove(dir)
			switch {
			case err == nil:
				removed = append(removed, dir)
			case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.EBUSY), errors.Is(err, syscall.ENOTEMPTY):
				// gone meanwhile, or a process (or a child cgroup) arrived
			default:
				errs = append(errs, fmt.Errorf("remove stale cgroup %s: %w", dir, err))
			}
		}
	}
	return removed, errors.Join(errs...)
}

// staleAndEmpty reports whether the cgroup dir was created before now − minAge
// and lists no process.
func staleAndEmpty(dir string, minAge time.Duration, now time.Time) bool {
	fi, err := os.Stat(dir)
	if err != nil || now.Sub(fi.ModTime()) < minAge {
		return false
	}
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	return err == nil && len(strings.TrimSpace(string(procs))) == 0
}
