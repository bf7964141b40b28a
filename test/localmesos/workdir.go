package localmesos

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// removeUnmounted removes dir and everything under it, unless something is
// still mounted at or under it (a task's bind mount the executor did not
// undo): removing through a bind mount would delete the host's files.
func removeUnmounted(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	mounts := bufio.NewScanner(f)
	mounts.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for mounts.Scan() {
		if at, ok := mountPoint(mounts.Text()); ok && (at == dir || strings.HasPrefix(at, dir+"/")) {
			return fmt.Errorf("%s is still mounted", at)
		}
	}
	if err := mounts.Err(); err != nil {
		return fmt.Errorf("read mounts: %w", err)
	}
	return os.RemoveAll(dir)
}

// mountPoint is the mount point of one /proc/self/mountinfo line (its
// fifth field, with the kernel's octal escapes of space, tab, newline and
// backslash undone).
func mountPoint(line string) (string, bool) {
	fields := strings.Fields(line)
	if len(fields) < 5 {
		return "", false
	}
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(fields[4]), true
}
