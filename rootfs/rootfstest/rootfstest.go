package rootfstest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gleaner-project/gleaner/rootfs"
)

// Busybox is where Debian's busybox-static installs its binary.
const Busybox = "/bin/busybox"

// Applets are linked to busybox in the test rootfs.
var Applets = []string{"sh", "cat", "ls", "echo", "sleep", "dd", "id", "env", "true", "false",
	"mkdir", "rm", "head", "yes", "pwd", "stat", "readlink", "touch", "kill", "ps", "wc", "grep", "test"}

// Require skips the test when busybox-static is missing.
func Require(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(Busybox); err != nil {
		if out, err := exec.Command("sh", "-c", "apt-get install -y -q busybox-static >/dev/null 2>&1").CombinedOutput(); err != nil {
			tb.Skipf("busybox-static not installed (%v: %s); run deploy/install-deps.sh", err, out)
		}
	}
}

// Tree writes a rootfs directory: /bin/busybox plus applet symlinks, /etc
// with passwd and group (root and nobody), /tmp (sticky), /dev /proc
// mount points, and the given extra files (path → content).
func Tree(tb testing.TB, dir string, extra map[string]string) string {
	tb.Helper()
	Require(tb)
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, d := range []string{"bin", "etc", "tmp", "dev", "proc", "mnt", "root"} {
		must(os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	must(os.Chmod(filepath.Join(dir, "tmp"), 0o1777|os.ModeSticky))
	b, err := os.ReadFile(Busybox)
	must(err)
	must(os.WriteFile(filepath.Join(dir, "bin/busybox"), b, 0o755))
	for _, a := range Applets {
		must(os.Symlink("busybox", filepath.Join(dir, "bin", a)))
	}
	must(os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644))
	for p, c := range extra {
		full := filepath.Join(dir, p)
		must(os.MkdirAll(filepath.Dir(full), 0o755))
		must(os.WriteFile(full, []byte(c), 0o644))
	}
	return dir
}

// Bundle builds a busybox bundle into dir/busybox.tar.gz and returns its
// path and digest.
func Bundle(tb testing.TB, dir string, extra map[string]string) (string, string) {
	tb.Helper()
	tree := Tree(tb, filepath.Join(dir, "tree"), extra)
	out := filepath.Join(dir, "busybox.tar.gz")
	res, err := rootfs.BuildFile(context.Background(), rootfs.BuildOptions{Base: tree}, out)
	if err != nil {
		tb.Fatalf("build busybox bundle: %v", err)
	}
	return out, res.Digest
}
