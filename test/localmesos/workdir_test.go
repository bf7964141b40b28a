package localmesos

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCloseRemovesTheWorkDirStartMade(t *testing.T) {
	cl, err := Start(context.Background(), Config{Agents: 1})
	if err != nil {
		t.Fatal(err)
	}
	made := cl.WorkDir()
	if made == "" {
		t.Fatal("no work directory made for a real agent")
	}
	if err := os.WriteFile(filepath.Join(made, "left-by-a-task"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if _, err := os.Stat(made); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the work directory Start made is still there after Close: %v", err)
	}

	given := t.TempDir()
	if err := os.WriteFile(filepath.Join(given, "operator-file"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cl, err = Start(context.Background(), Config{Agents: 1, WorkDir: given})
	if err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if _, err := os.Stat(filepath.Join(given, "operator-file")); err != nil {
		t.Fatalf("Close removed a file of the configured work directory: %v", err)
	}
}

func TestRemoveUnmountedLeavesAMountedDir(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sandbox with space")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	mounted := true
	t.Cleanup(func() {
		if mounted {
			_ = unix.Unmount(sub, unix.MNT_DETACH)
		}
	})
	kept := filepath.Join(sub, "host-file")
	if err := os.WriteFile(kept, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := removeUnmounted(dir); err == nil || !strings.Contains(err.Error(), "still mounted") {
		t.Fatalf("removeUnmounted over a mount: %v, want an error saying it is still mounted", err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("a file under the mount went: %v", err)
	}
	if err := unix.Unmount(sub, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	if err := removeUnmounted(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the directory is still there once unmounted: %v", err)
	}
}

func TestMountPoint(t *testing.T) {
	cases := []struct {
		line, want string
		ok         bool
	}{
		{`36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw`, "/mnt/parent", true},
		{`99 35 0:50 / /tmp/a\040b\134c rw - tmpfs tmpfs rw`, `/tmp/a b\c`, true},
		{`short line`, "", false},
	}
	for _, c := range cases {
		got, ok := mountPoint(c.line)
		if got != c.want || ok != c.ok {
			t.Errorf("mountPoint(%q) = %q, %v; want %q, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}
