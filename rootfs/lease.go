package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Lease keeps one cached bundle from eviction: it holds a shared flock(2)
// on the bundle's use record, <dir>/sha256-<hex>.use, whose modification
// time is the bundle's last use. Eviction takes the lock exclusively and
// without waiting, so a bundle held by any task of any executor on the host
// is skipped; the kernel drops the lock when the process ends.
type Lease struct {
	// Dir is the extracted tree.
	Dir  string
	f    *os.File
	once sync.Once
}

// Release lets the bundle be evicted again. It is safe to call twice.
func (l *Lease) Release() {
	l.once.Do(func() { _ = l.f.Close() })
}

func useRecord(dir string) string { return dir + ".use" }

// lease takes a shared lock on dir's use record and marks it used now.
func (c *Cache) lease(dir string) (*Lease, error) {
	rec := useRecord(dir)
	for {
		f, err := os.OpenFile(rec, os.O_RDWR|os.O_CREATE|noFollow, 0o644)
		if err != nil {
			return nil, fmt.Errorf("bundle cache: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
			f.Close()
			return nil, fmt.Errorf("bundle cache: lock %s: %w", rec, err)
		}
		if sameFile(f, rec) {
			now := time.Now()
			_ = os.Chtimes(rec, now, now)
			return &Lease{Dir: dir, f: f}, nil
		}
		f.Close() // evicted (and the record removed) while we waited: retry
	}
}

// sameFile reports whether the open file is still the one at path.
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// cachedBundle is one extracted tree as eviction sees it.
type cachedBundle struct {
	name    string // sha256-<hex>
	bytes   int64
	lastUse time.Time
}

// evictionOrder returns the bundles in the order eviction tries them:
// least recently used first, the name breaking ties so the order is
// stable. It is pure.
func evictionOrder(bundles []cachedBundle) []cachedBundle {
	out := slices.Clone(bundles)
	slices.SortFunc(out, func(a, b cachedBundle) int {
		if c := a.lastUse.Compare(b.lastUse); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// Evict removes least recently used bundles that no Lease holds until the
// cache's disk use is within its cap, and returns the bytes freed. Bundles
// in use are never removed, so the cache may stay above its cap while they
// are held.
func (c *Cache) Evict() (int64, error) {
	c.removeStale(time.Now())
	total := DiskUsage(c.Dir)
	limit := c.capBytes()
	if total <= limit {
		return 0, nil
	}
	ents, err := os.ReadDir(c.Dir)
	if err != nil {
		return 0, fmt.Errorf("bundle cache: %w", err)
	}
	var bundles []cachedBundle
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), entryPrefix) {
			continue
		}
		dir := filepath.Join(c.Dir, e.Name())
		b := cachedBundle{name: e.Name(), bytes: DiskUsage(dir)}
		if fi, err := os.Stat(useRecord(dir)); err == nil {
			b.lastUse = fi.ModTime()
		} else if fi, err := e.Info(); err == nil {
			b.lastUse = fi.ModTime()
		}
		bundles = append(bundles, b)
	}
	var freed int64
	for _, b := range evictionOrder(bundles) {
		if total-freed <= limit {
			break
		}
		ok, err := c.evictOne(filepath.Join(c.Dir, b.name))
		if err != nil {
			return freed, err
		}
		if ok {
			freed += b.bytes
		}
	}
	return freed, nil
}

// staleAfter is the age at which a temporary spool, extraction or eviction
// directory is taken for the leftover of an executor that died: within the
// limits an extraction takes minutes at most.
const staleAfter = 6 * time.Hour

// isTemporary reports whether a cache directory entry is a spool,
// extraction or eviction in progress.
func isTemporary(name string) bool {
	for _, p := range []string{".spool-", ".put-", ".evict-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// removeStale removes temporary entries older than staleAfter.
func (c *Cache) removeStale(now time.Time) {
	ents, err := os.ReadDir(c.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !isTemporary(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > staleAfter {
			_ = os.RemoveAll(filepath.Join(c.Dir, e.Name()))
		}
	}
}

// evictOne removes the bundle at dir unless a Lease holds it.
func (c *Cache) evictOne(dir string) (bool, error) {
	rec := useRecord(dir)
	f, err := os.OpenFile(rec, os.O_RDWR|os.O_CREATE|noFollow, 0o644)
	if err != nil {
		return false, fmt.Errorf("bundle cache: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil // in use
		}
		return false, fmt.Errorf("bundle cache: lock %s: %w", rec, err)
	}
	if !sameFile(f, rec) {
		return false, nil // evicted by another executor meanwhile
	}
	gone, err := os.MkdirTemp(c.Dir, ".evict-*")
	if err != nil {
		return false, fmt.Errorf("bundle cache: %w", err)
	}
	defer os.RemoveAll(gone)
	if err := os.Rename(dir, filepath.Join(gone, "rootfs")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("bundle cache: evict %s: %w", dir, err)
	}
	// Waiting leases see the record gone and take a new one.
	_ = os.Remove(rec)
	return true, nil
}

// dropRecord removes the use record of a bundle that is not cached (its
// fetch failed), unless someone holds it.
func (c *Cache) dropRecord(dir string) {
	rec := useRecord(dir)
	f, err := os.OpenFile(rec, os.O_RDWR|noFollow, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil || !sameFile(f, rec) {
		return
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		_ = os.Remove(rec)
	}
}

// DiskUsage is the space the tree at dir takes, like du: allocated blocks,
// each inode counted once, never following symlinks or crossing into other
// file systems. A missing dir uses 0.
func DiskUsage(dir string) int64 {
	var total int64
	seen := map[uint64]bool{}
	var rootDev uint64
	if fi, err := os.Lstat(dir); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			rootDev = uint64(st.Dev)
		}
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			total += fi.Size()
			return nil
		}
		if d.IsDir() && uint64(st.Dev) != rootDev {
			return filepath.SkipDir
		}
		if st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += st.Blocks * 512
		return nil
	})
	return total
}
