package executor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolveUser(t *testing.T) {
	passwd := filepath.Join(t.TempDir(), "passwd")
	_ = os.WriteFile(passwd, []byte("root:x:0:0::/:/bin/sh\napp:x:1234:4321::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nbroken\n"), 0o644)
	old := hostPasswd
	hostPasswd = passwd
	t.Cleanup(func() { hostPasswd = old })
	for _, c := range []struct {
		name               string
		allowRoot, bundled bool
		uid, gid           uint32
		ok                 bool
	}{
		{"app", false, false, 1234, 4321, true},
		{"nobody", false, true, 65534, 65534, true},
		{"1000", false, false, 1000, 1000, true},
		{"1000:50", false, false, 1000, 50, true},
		{"1000:x", false, false, 0, 0, false},
		{"65534", false, true, 65534, 65534, true},
		{"root", false, true, 0, 0, false},   // root refused by default
		{"0", false, true, 0, 0, false},      // numeric too
		{"1000:0", false, true, 0, 0, false}, // so is gid 0
		{"root", true, true, 0, 0, true},     // allowed, with a bundle
		{"0", true, false, 0, 0, false},      // never on the host
		{"no-such-user", false, true, 0, 0, false},
		{"", false, false, 0, 0, false},
	} {
		u, g, err := resolveUser(c.name, c.allowRoot, c.bundled)
		if (err == nil) != c.ok || u != c.uid || g != c.gid {
			t.Errorf("resolveUser(%q, allowRoot=%v, bundled=%v) = %d:%d %v", c.name, c.allowRoot, c.bundled, u, g, err)
		}
	}
}
