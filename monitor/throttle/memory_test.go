package throttle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name, marker, file, lifted string
	}{
		{"v1", "memory/memory.soft_limit_in_bytes", "memory/batch/memory.soft_limit_in_bytes", "-1"},
		{"v2", "cgroup.controllers", "batch/memory.high", "max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mustWrite(t, filepath.Join(root, tc.marker), "")
			m, err := NewMemoryLimit(root, "batch")
			if err != nil {
				t.Fatal(err)
			}
			// Set creates the parent; the kernel would create the file,
			// the fixture does it here.
			if err := os.MkdirAll(filepath.Dir(filepath.Join(root, tc.file)), 0o755); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(root, tc.file), "")
			if err := m.Set(1500); err != nil {
				t.Fatal(err)
			}
			if got := readT(t, filepath.Join(root, tc.file)); got != "1572864000" {
				t.Errorf("after Set(1500): %s = %q, want 1572864000", tc.file, got)
			}
			if err := m.Set(0); err != nil {
				t.Fatal(err)
			}
			if got := readT(t, filepath.Join(root, tc.file)); got != "1048576" {
				t.Errorf("after Set(0): %q, want the 1 MB floor", got)
			}
			if err := m.Lift(); err != nil {
				t.Fatal(err)
			}
			if got := readT(t, filepath.Join(root, tc.file)); got != tc.lifted {
				t.Errorf("after Lift: %q, want %q", got, tc.lifted)
			}
			if err := m.Set(-1); err == nil || !strings.Contains(err.Error(), "memory limit") {
				t.Errorf("Set(-1): %v, want an error naming the limit", err)
			}
		})
	}
	if _, err := NewMemoryLimit(t.TempDir(), "batch"); err == nil {
		t.Error("a root without memory controller: want an error")
	}
	if _, err := NewMemoryLimit(t.TempDir(), "../x"); err == nil {
		t.Error("parent ../x: want an error")
	}
}

func mustWrite(t *testing.T, p, v string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readT(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
