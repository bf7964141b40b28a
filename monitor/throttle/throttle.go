package throttle

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Throttler caps the CPU of all batch work on the host.
type Throttler interface {
	// Set caps batch work at cpus (cores).
	Set(cpus float64) error
	// Lift removes the cap.
	Lift() error
}

var _ Throttler = (*Cgroup)(nil)

// minQuotaUs is the smallest CFS quota the kernel accepts.
const minQuotaUs = 1000

// Cgroup throttles the batch parent cgroup: cgroup v1 writes
// cpu.cfs_quota_us of <root>/cpu/<parent> (-1 lifts), v2 writes cpu.max of
// <root>/<parent> ("max" lifts).
//
// Under v1 the kernel refuses a parent quota below a child's (EINVAL), so
// Set first lowers the task cgroups whose own cap is higher, remembering
// their quotas, and Lift (or a higher Set) gives them back.
type Cgroup struct {
	dir   string
	v2    bool
	mu    sync.Mutex
	saved map[string]int64 // v1 child dir → its quota before we lowered it
}

// NewCgroup finds the batch parent cgroup's CPU directory under root. The
// directory need not exist yet: Set creates it.
func NewCgroup(root, parent string) (*Cgroup, error) {
	if parent == "" || filepath.IsAbs(parent) || strings.Contains(parent, "..") {
		return nil, fmt.Errorf("cgroup parent %q: must be a relative path without ..", parent)
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return &Cgroup{dir: filepath.Join(root, parent), v2: true, saved: map[string]int64{}}, nil
	}
	for _, ctl := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
		if _, err := os.Stat(filepath.Join(root, ctl, "cpu.cfs_quota_us")); err == nil {
			return &Cgroup{dir: filepath.Join(root, ctl, parent), saved: map[string]int64{}}, nil
		}
	}
	return nil, fmt.Errorf("cgroup root %s: no cgroup v2 and no v1 cpu controller with cfs quota", root)
}

// Dir is the parent cgroup directory that is throttled.
func (c *Cgroup) Dir() string { return c.dir }

// Set caps the parent at cpus.
func (c *Cgroup) Set(cpus float64) error {
	if cpus <= 0 || math.IsNaN(cpus) || math.IsInf(cpus, 0) {
		return fmt.Errorf("throttle to %v cpus: must be positive", cpus)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("create batch cgroup %s: %w", c.dir, err)
	}
	if c.v2 {
		period, err := c.v2Period()
		if err != nil {
			return err
		}
		q := quota(cpus, period)
		return write(filepath.Join(c.dir, "cpu.max"), fmt.Sprintf("%d %d", q, period))
	}
	period, err := readInt(filepath.Join(c.dir, "cpu.cfs_period_us"))
	if err != nil {
		return fmt.Errorf("read batch cgroup period: %w", err)
	}
	q := quota(cpus, period)
	cur, err := readInt(filepath.Join(c.dir, "cpu.cfs_quota_us"))
	if err != nil {
		return fmt.Errorf("read batch cgroup quota: %w", err)
	}
	raising := cur >= 0 && q > cur
	if raising {
		// Parent first, then the children may go back up to the new cap.
		if err := write(filepath.Join(c.dir, "cpu.cfs_quota_us"), strconv.FormatInt(q, 10)); err != nil {
			return err
		}
		return c.restore(cpus)
	}
	// Children first (deepest first), then the parent.
	if err := c.lowerChildren(cpus); err != nil {
		return err
	}
	return write(filepath.Join(c.dir, "cpu.cfs_quota_us"), strconv.FormatInt(q, 10))
}

// Lift removes the cap and gives the task cgroups their own quotas back.
func (c *Cgroup) Lift() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.v2 {
		err := write(filepath.Join(c.dir, "cpu.max"), "max")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	err := write(filepath.Join(c.dir, "cpu.cfs_quota_us"), "-1")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.restore(math.Inf(1))
}

// Current reads the cap in force: cpus and whether there is one.
func (c *Cgroup) Current() (float64, bool, error) {
	if c.v2 {
		b, err := os.ReadFile(filepath.Join(c.dir, "cpu.max"))
		if errors.Is(err, fs.ErrNotExist) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("read batch cgroup cpu.max: %w", err)
		}
		f := strings.Fields(string(b))
		if len(f) != 2 || f[0] == "max" {
			return 0, false, nil
		}
		q, err1 := strconv.ParseInt(f[0], 10, 64)
		p, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || p <= 0 {
			return 0, false, fmt.Errorf("parse batch cgroup cpu.max %q", strings.TrimSpace(string(b)))
		}
		return float64(q) / float64(p), true, nil
	}
	q, err := readInt(filepath.Join(c.dir, "cpu.cfs_quota_us"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read batch cgroup quota: %w", err)
	}
	if q < 0 {
		return 0, false, nil
	}
	p, err := readInt(filepath.Join(c.dir, "cpu.cfs_period_us"))
	if err != nil || p <= 0 {
		return 0, false, fmt.Errorf("read batch cgroup period: %w", orBad(err))
	}
	return float64(q) / float64(p), true, nil
}

func orBad(err error) error {
	if err == nil {
		return errors.New("not positive")
	}
	return err
}

func (c *Cgroup) v2Period() (int64, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "cpu.max"))
	if err != nil {
		return 0, fmt.Errorf("read batch cgroup cpu.max (is the cpu controller enabled for %s?): %w", c.dir, err)
	}
	f := strings.Fields(string(b))
	if len(f) == 2 {
		if p, err := strconv.ParseInt(f[1], 10, 64); err == nil && p > 0 {
			return p, nil
		}
	}
	return 100000, nil
}

// children lists the descendant cgroup directories, parents before children.
func (c *Cgroup) children() ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a task cgroup removed meanwhile
			}
			return err
		}
		if d.IsDir() && p != c.dir {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list task cgroups under %s: %w", c.dir, err)
	}
	sort.Strings(dirs) // a parent sorts before its children
	return dirs, nil
}

// lowerChildren caps every descendant whose own cap is above cpus.
func (c *Cgroup) lowerChildren(cpus float64) error {
	dirs, err := c.children()
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first
		d := dirs[i]
		q, err1 := readInt(filepath.Join(d, "cpu.cfs_quota_us"))
		p, err2 := readInt(filepath.Join(d, "cpu.cfs_period_us"))
		if err1 != nil || err2 != nil || p <= 0 {
			continue // gone, or not a cpu cgroup
		}
		if q < 0 || float64(q)/float64(p) <= cpus {
			continue
		}
		if _, ok := c.saved[d]; !ok {
			c.saved[d] = q
		}
		if err := write(filepath.Join(d, "cpu.cfs_quota_us"), strconv.FormatInt(quota(cpus, p), 10)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// restore raises lowered descendants back towards their own quota, no
// higher than cpus; the ones fully restored are forgotten.
func (c *Cgroup) restore(cpus float64) error {
	dirs := make([]string, 0, len(c.saved))
	for d := range c.saved {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs) // parents first
	var errs []error
	for _, d := range dirs {
		orig := c.saved[d]
		p, err := readInt(filepath.Join(d, "cpu.cfs_period_us"))
		if errors.Is(err, fs.ErrNotExist) {
			delete(c.saved, d)
			continue
		}
		if err != nil || p <= 0 {
			errs = append(errs, fmt.Errorf("read period of %s: %w", d, orBad(err)))
			continue
		}
		q, done := orig, true
		if float64(orig)/float64(p) > cpus {
			q, done = quota(cpus, p), false
		}
		err = write(filepath.Join(d, "cpu.cfs_quota_us"), strconv.FormatInt(q, 10))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			delete(c.saved, d)
		case err != nil:
			errs = append(errs, err)
		case done:
			delete(c.saved, d)
		}
	}
	return errors.Join(errs...)
}

func quota(cpus float64, period int64) int64 {
	return max(int64(math.Round(cpus*float64(period))), minQuotaUs)
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// write replaces a cgroup file's content.
func write(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(v); err != nil {
		f.Close()
		return fmt.Errorf("write %q to %s: %w", v, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %q to %s: %w", v, path, err)
	}
	return nil
}
