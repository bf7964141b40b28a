package executor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	_ = os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	_ = os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("app:x:1234:4321::/:/bin/sh\nbroken\n"), 0o644)
	for _, c := range []struct {
		name, root string
		uid, gid   uint32
		ok         bool
	}{
		{"app", root, 1234, 4321, true},
		{"1000", "", 1000, 1000, true},
		{"1000:50", "", 1000, 50, true},
		{"1000:x", "", 0, 0, false},
		{"nobody", root, 65534, 65534, true},
		{"root", "", 0, 0, true},
		{"no-such-user", root, 0, 0, false},
		{"", "", 0, 0, false},
	} {
		u, g, err := resolveUser(c.name, c.root)
		if (err == nil) != c.ok || u != c.uid || g != c.gid {
			t.Errorf("resolveUser(%q) = %d:%d %v", c.name, u, g, err)
		}
	}
	// A bundle whose /etc/passwd links to a host file is not read.
	evil := t.TempDir()
	_ = os.MkdirAll(filepath.Join(evil, "etc"), 0o755)
	host := filepath.Join(t.TempDir(), "hostpasswd")
	_ = os.WriteFile(host, []byte("app:x:7:7::/:/bin/sh\n"), 0o644)
	_ = os.Symlink(host, filepath.Join(evil, "etc/passwd"))
	if _, _, err := resolveUser("app", evil); err == nil {
		t.Fatal("followed the bundle's symlink to a host file")
	}
}
