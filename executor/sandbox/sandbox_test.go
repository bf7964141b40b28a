package sandbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
)

func TestMain(m *testing.M) {
	if IsInit() {
		Init()
	}
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot and mount namespaces need root")
	}
}

func bundleRoot(t *testing.T) string {
	dir := t.TempDir()
	b, d := rootfstest.Bundle(t, dir, map[string]string{"etc/marker": "in-bundle\n"})
	c, err := rootfs.NewCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := c.PutFile(d, b)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func run(t *testing.T, s Spec) (string, string, Exit) {
	t.Helper()
	var out, errb bytes.Buffer
	p, err := Start(Options{Spec: s, Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	ex := p.Wait()
	<-p.OutputDone()
	return out.String(), errb.String(), ex
}

func TestChrootedTaskSeesOnlyTheBundle(t *testing.T) {
	needRoot(t)
	root := bundleRoot(t)
	state := t.TempDir()
	sb := t.TempDir()
	vol := t.TempDir()
	_ = os.WriteFile(filepath.Join(vol, "data"), []byte("volume-data"), 0o644)
	_ = os.Chown(sb, 65534, 65534)
	out, errs, ex := run(t, Spec{
		Rootfs: root, StateDir: state, Sandbox: sb,
		Volumes: []Volume{{HostPath: vol, ContainerPath: "/data", ReadOnly: true}},
		Argv:    []string{"/bin/sh", "-c", "cat /etc/marker; ls /; id -u; cat /data/data; echo; touch /data/x 2>/dev/null && echo rw || echo ro; echo hi > /mnt/mesos/sandbox/f && echo sbok; ls /dev; test -e /etc/hostname && echo HOST; grep -c NoNewPrivs:.1 /proc/self/status; pwd"},
		Env:     []string{"PATH=/bin"}, WorkDir: "/mnt/mesos/sandbox",
		UID: 65534, GID: 65534,
	})
	if ex.Code != 0 {
		t.Fatalf("exit %v: %s %s", ex, out, errs)
	}
	for _, want := range []string{"in-bundle", "65534", "volume-data", "ro\n", "sbok", "urandom", "null", "\n1\n", "/mnt/mesos/sandbox"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, out, errs)
		}
	}
	if strings.Contains(out, "HOST") {
		t.Errorf("task sees the host's /etc:\n%s", out)
	}
	// Only the task's own mounts are visible.
	mi, _, _ := run(t, Spec{Rootfs: root, StateDir: t.TempDir(), Argv: []string{"/bin/sh", "-c", "echo $GLEANER_ROOT_MODE; cat /proc/self/mountinfo"}, KeepRoot: true})
	if !strings.HasPrefix(mi, "pivot_root\n") {
		t.Errorf("root not entered with pivot_root: %q", strings.SplitN(mi, "\n", 2)[0])
	}
	if strings.Contains(mi, "cgroup") || !strings.Contains(mi, " /proc ") || !strings.Contains(mi, " /dev/shm ") {
		t.Errorf("mounts after pivot_root:\n%s", mi)
	}
	// The task's writes land in the sandbox and the overlay, not the cache.
	if b, _ := os.ReadFile(filepath.Join(sb, "f")); string(b) != "hi\n" {
		t.Errorf("sandbox file %q", b)
	}
	out, _, _ = run(t, Spec{Rootfs: root, StateDir: t.TempDir(), Argv: []string{"/bin/sh", "-c", "echo x > /etc/marker && cat /etc/marker"}, KeepRoot: true})
	if b, _ := os.ReadFile(filepath.Join(root, "etc/marker")); string(b) != "in-bundle\n" || out != "x\n" {
		t.Errorf("write went through to the cached bundle: %q / %q", b, out)
	}
}

func TestChrootFallbackAndCopy(t *testing.T) {
	needRoot(t)
	root := bundleRoot(t)
	out, errs, ex := run(t, Spec{Rootfs: root, StateDir: t.TempDir(), NoPivot: true, NoOverlay: true,
		Argv: []string{"sh", "-c", "cat /etc/marker; echo $GLEANER_ROOT_MODE"}, Env: []string{"PATH=/bin"}, UID: 65534, GID: 65534})
	if ex.Code != 0 || out != "in-bundle\nchroot\n" {
		t.Fatalf("%v %q %q", ex, out, errs)
	}

}

func TestStartErrors(t *testing.T) {
	needRoot(t)
	root := bundleRoot(t)
	_, err := Start(Options{Spec: Spec{Rootfs: root, StateDir: t.TempDir(), Argv: []string{"nosuchcmd"}, Env: []string{"PATH=/bin"}}})
	var se *StartError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "nosuchcmd") {
		t.Fatalf("err = %v", err)
	}
	_, err = Start(Options{Spec: Spec{Rootfs: root, StateDir: t.TempDir(), Argv: []string{"/bin/true"},
		Volumes: []Volume{{HostPath: t.TempDir(), ContainerPath: "/../../etc"}}}})
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "..") {
		t.Fatalf("err = %v", err)
	}
}

func TestHostTaskAndSignals(t *testing.T) {
	needRoot(t)
	out, _, ex := run(t, Spec{Argv: []string{"/bin/sh", "-c", "id -u; exit 3"}, Env: []string{"PATH=/usr/bin:/bin"}, UID: 65534, GID: 65534})
	if ex.Code != 3 || strings.TrimSpace(out) != "65534" || ex.String() != "exited with status 3" {
		t.Fatalf("%v %q", ex, out)
	}
	p, err := Start(Options{Spec: Spec{Argv: []string{"/bin/sleep", "30"}, UID: 65534, GID: 65534}})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Signal(9)
	if ex := p.Wait(); ex.Signal != 9 || !strings.HasPrefix(ex.String(), "killed by signal 9") {
		t.Fatalf("%v", ex)
	}
}
