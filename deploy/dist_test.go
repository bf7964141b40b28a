package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDistInstallsIntoOneDirectory builds the static binary, packs it with
// dist.sh, installs the tarball into a fresh prefix and checks that everything
// landed under the prefix, that the binary is static and runs, and that the
// systemd units point into the prefix.
func TestDistInstallsIntoOneDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gleaner binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "gleaner")
	for out, pkg := range map[string]string{bin: "../cmd/gleaner", filepath.Join(tmp, "gleaner-executor"): "../executor/cmd/gleaner-executor",
		filepath.Join(tmp, "gleaner-monitor"): "../monitor/cmd/gleaner-monitor"} {
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=test-1", "-o", out, pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, msg)
		}
		assertStatic(t, out)
	}

	distDir := filepath.Join(tmp, "dist")
	dist := exec.Command("./dist.sh", "test-1")
	dist.Env = append(os.Environ(), "GLEANER_BIN="+bin, "DIST_DIR="+distDir)
	out, err := dist.CombinedOutput()
	if err != nil {
		t.Fatalf("dist.sh: %v\n%s", err, out)
	}
	tarball := strings.TrimSpace(string(out))
	if !strings.HasSuffix(tarball, ".tar.gz") {
		t.Fatalf("dist.sh printed %q, want the tarball path", tarball)
	}

	// The tarball's checksum sits beside it.
	if out, err := runIn(distDir, "sha256sum", "-c", "SHA256SUMS"); err != nil || !strings.Contains(out, filepath.Base(tarball)+": OK") {
		t.Errorf("dist SHA256SUMS does not verify the tarball: %v\n%s", err, out)
	}
	// Without an argument the version is git describe's, and a binary built
	// with another version is refused.
	describe, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err == nil {
		dist := exec.Command("./dist.sh")
		dist.Env = append(os.Environ(), "GLEANER_BIN="+bin, "DIST_DIR="+filepath.Join(tmp, "dist2"))
		out, err := dist.CombinedOutput()
		want := "reports version 'test-1', not '" + strings.TrimSpace(string(describe)) + "'"
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("dist.sh without a version, binary test-1: %v %s; want a refusal saying %q", err, out, want)
		}
	}

	unpack := filepath.Join(tmp, "unpack")
	if err := os.MkdirAll(unpack, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-C", unpack, "-xzf", tarball).CombinedOutput(); err != nil {
		t.Fatalf("untar: %v\n%s", err, out)
	}
	entries, _ := os.ReadDir(unpack)
	if len(entries) != 1 {
		t.Fatalf("tarball has %d top-level entries, want one release directory", len(entries))
	}
	release := filepath.Join(unpack, entries[0].Name())
	if entries[0].Name() != "gleaner-test-1-linux-"+runtime.GOARCH {
		t.Errorf("release directory %s, want gleaner-test-1-linux-%s", entries[0].Name(), runtime.GOARCH)
	}
	// The runbook and the checksums of every file travel in the release.
	if b, err := os.ReadFile(filepath.Join(release, "INSTALL.md")); err != nil || !strings.Contains(string(b), "RESERVE_RESOURCES") {
		t.Errorf("INSTALL.md missing from the release or says nothing of the RESERVE ACLs: %v", err)
	}
	if out, err := runIn(release, "sha256sum", "--strict", "-c", "SHA256SUMS"); err != nil || !strings.Contains(out, "bin/gleaner: OK") || !strings.Contains(out, "INSTALL.md: OK") ||
		!strings.Contains(out, "completion/gleaner.bash: OK") {
		t.Errorf("release SHA256SUMS does not verify: %v\n%s", err, out)
	}

	// The shell completion scripts travel in the release.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if b, err := os.ReadFile(filepath.Join(release, "completion", "gleaner."+sh)); err != nil || !strings.Contains(string(b), "gleaner") {
			t.Errorf("completion/gleaner.%s missing or empty in the release: %v", sh, err)
		}
	}

	prefix := filepath.Join(tmp, "opt", "gleaner")
	if out, err := exec.Command(filepath.Join(release, "install.sh"), prefix).CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	// Everything the install created is under the prefix.
	var outside []string
	filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasPrefix(p, prefix) && !strings.HasPrefix(p, unpack) && !strings.HasPrefix(p, distDir) && filepath.Dir(p) != tmp {
			outside = append(outside, p)
		}
		return nil
	})
	if len(outside) > 0 {
		t.Fatalf("install wrote outside its prefix: %v", outside)
	}
	got, err := exec.Command(filepath.Join(prefix, "bin", "gleaner"), "version").Output()
	if err != nil || strings.TrimSpace(string(got)) != "test-1" {
		t.Fatalf("installed gleaner version = %q, %v; want test-1", got, err)
	}
	if _, err := os.Stat(filepath.Join(prefix, "bin", "gleaner-executor")); err != nil {
		t.Errorf("slim executor not installed: %v", err)
	}
	// The business hosts' unit runs the slim monitor, which takes the same flags.
	if b, err := os.ReadFile(filepath.Join(prefix, "systemd", "gleaner-monitor.service")); err != nil {
		t.Errorf("monitor unit not installed: %v", err)
	} else if want := "ExecStart=" + prefix + "/bin/gleaner-monitor $GLEANER_MONITOR_ARGS"; !strings.Contains(string(b), want) {
		t.Errorf("monitor unit does not run %q:\n%s", want, b)
	}
	if got, err := exec.Command(filepath.Join(prefix, "bin", "gleaner-monitor"), "--help").CombinedOutput(); err != nil || !strings.Contains(string(got), "-master") {
		t.Errorf("installed gleaner-monitor --help: %v\n%s", err, got)
	}
	units, _ := filepath.Glob(filepath.Join(prefix, "systemd", "*.service"))
	if len(units) == 0 {
		t.Fatal("no systemd units installed")
	}
	for _, u := range units {
		b, _ := os.ReadFile(u)
		if strings.Contains(string(b), "@PREFIX@") || !strings.Contains(string(b), prefix+"/bin/gleaner") {
			t.Errorf("%s does not run %s/bin/gleaner:\n%s", u, prefix, b)
		}
	}
	// The installed scheduler config runs tasks under the installed executor.
	if b, err := os.ReadFile(filepath.Join(prefix, "etc", "scheduler.env")); err != nil {
		t.Errorf("scheduler.env not installed: %v", err)
	} else if want := "--executor-path " + prefix + "/bin/gleaner-executor"; !strings.Contains(string(b), want) || strings.Contains(string(b), "@PREFIX@") {
		t.Errorf("scheduler.env does not give %q:\n%s", want, b)
	}
}

func runIn(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s has an ELF interpreter: it is not static", path)
		}
	}
}
