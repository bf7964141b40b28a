package executor

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// diskUsage sums the space used under dir, like du: allocated blocks,
// each inode counted once, never following symlinks or crossing into other
// file systems' mount points.
func diskUsage(dir string) int64 {
	var total int64
	seen := map[uint64]bool{}
	var rootDev uint64
	if st, err := os.Lstat(dir); err == nil {
		if s, ok := st.Sys().(*syscall.Stat_t); ok {
			rootDev = uint64(s.Dev)
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
		s, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			total += fi.Size()
			return nil
		}
		if d.IsDir() && uint64(s.Dev) != rootDev {
			return filepath.SkipDir
		}
		if s.Nlink > 1 && !d.IsDir() {
			if seen[s.Ino] {
				return nil
			}
			seen[s.Ino] = true
		}
		total += s.Blocks * 512
		return nil
	})
	return total
}
