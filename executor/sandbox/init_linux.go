package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// InitArg is the hidden first argument that turns the executor binary into
// the task helper.
const InitArg = "__gleaner_task_init__"

// IsInit reports whether this process was started as the task helper.
func IsInit() bool { return len(os.Args) > 1 && os.Args[1] == InitArg }

// File descriptors handed to the helper (ExtraFiles start at 3).
const (
	specFD   = 3
	statusFD = 4
	exitFD   = 5
)

// forwardedSignals are passed on to every process of the task. The helper
// is the init of the task's PID namespace: the kernel only delivers it the
// signals it handles, and its death kills the whole namespace (SIGKILL ends a
// task at once that way).
var forwardedSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGWINCH, syscall.SIGCONT}

// Init runs the helper and never returns: it starts the task, then stays
// as the init of the task's PID namespace until the task's main process
// ends, and exits with its status; or it exits 127 after writing why the
// task could not start to the status pipe.
func Init() {
	// Capabilities, the bounding set and the credentials the task is
	// started with belong to a thread: the one that forks it.
	runtime.LockOSThread()
	status := os.NewFile(statusFD, "status")
	unix.CloseOnExec(statusFD)
	unix.CloseOnExec(exitFD)
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, forwardedSignals...)
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	pid, err := startTask()
	if err != nil {
		if status != nil {
			_, _ = status.WriteString(err.Error())
		}
		os.Exit(127)
	}
	status.Close()
	os.Exit(superviseTask(pid, signals, children))
}

// superviseTask reaps every process of the namespace, passes signals on to
// all of them, and returns once the task's main process ended, after
// writing its wait status to the exit pipe.
func superviseTask(pid int, signals, children <-chan os.Signal) int {
	for {
		for {
			var ws unix.WaitStatus
			got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || got <= 0 {
				break
			}
			if got == pid {
				return reportExit(ws)
			}
		}
		select {
		case sig := <-signals:
			// -1: every process of the namespace but this one.
			_ = unix.Kill(-1, sig.(syscall.Signal))
		case <-children:
		}
	}
}

// reportExit writes the task's wait status to the exit pipe and returns
// the exit code that mirrors it.
func reportExit(ws unix.WaitStatus) int {
	if f := os.NewFile(exitFD, "exit"); f != nil {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(ws))
		_, _ = f.Write(b[:])
		f.Close()
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// startTask reads the spec, builds the task's view of the system in the
// helper's fresh namespaces, confines what anything started from here may
// do, and starts the task's process.
func startTask() (int, error) {
	specFile := os.NewFile(specFD, "spec")
	if specFile == nil {
		return 0, errors.New("task helper started without its spec pipe")
	}
	b, err := io.ReadAll(io.LimitReader(specFile, 16<<20))
	specFile.Close()
	if err != nil {
		return 0, fmt.Errorf("read spec: %w", err)
	}
	if len(b) == 0 {
		return 0, errors.New("task cancelled before it started")
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return 0, fmt.Errorf("decode spec: %w", err)
	}
	if len(s.Argv) == 0 {
		return 0, errors.New("no command to run")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return 0, fmt.Errorf("make mounts private: %w", err)
	}
	if s.Rootfs != "" {
		mode, err := enterRoot(&s)
		if err != nil {
			return 0, err
		}
		s.Env = append(s.Env, RootModeEnv+"="+mode)
	} else if err := viewHost(&s); err != nil {
		return 0, err
	}
	if err := dropCapabilities(); err != nil {
		return 0, err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("set no_new_privs: %w", err)
	}
	prog, err := lookPath(s.Argv[0], s.Env)
	if err != nil {
		return 0, err
	}
	if err := loadSeccomp(); err != nil {
		return 0, err
	}
	attr := &syscall.ProcAttr{Dir: s.WorkDir, Env: s.Env, Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{}}
	if !s.KeepRoot {
		groups := append([]uint32(nil), s.Groups...)
		attr.Sys.Credential = &syscall.Credential{Uid: s.UID, Gid: s.GID, Groups: groups}
	}
	pid, err := syscall.ForkExec(prog, s.Argv, attr)
	if err != nil {
		// The child fails in chdir or in exec; the error does not say which.
		return 0, fmt.Errorf("exec %s in working directory %q as uid %d: %w", prog, s.WorkDir, s.UID, err)
	}
	return pid, nil
}

// viewHost gives a task without a bundle its own /proc (its PID namespace
// only), private /tmp, /var/tmp and /dev/shm, and its sandbox at
// SandboxTarget, over the executor's run directory: the task reaches it by
// path whatever the modes of the directories above it, and sees nothing
// else of the executor's.
func viewHost(s *Spec) error {
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := protectProc("/proc"); err != nil {
		return err
	}
	if s.SandboxTarget != "" && !filepath.IsAbs(s.SandboxTarget) {
		return fmt.Errorf("sandbox target %q must be absolute", s.SandboxTarget)
	}
	// Open every source before anything is mounted: the sandbox and the
	// private tmp may live under the host's /tmp, which is about to be covered.
	var sandboxFD = -1
	if s.Sandbox != "" && s.SandboxTarget != "" {
		fd, err := openDir(s.Sandbox)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		sandboxFD = fd
	}
	if s.PrivateTmp != "" {
		type bind struct {
			fd     int
			target string
		}
		var binds []bind
		for sub, target := range PrivateTmpDirs {
			if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
				continue // a host without /var/tmp
			}
			fd, err := openDir(filepath.Join(s.PrivateTmp, sub))
			if err != nil {
				return fmt.Errorf("private %s: %w", target, err)
			}
			binds = append(binds, bind{fd, target})
		}
		for _, b := range binds {
			if err := unix.Mount(fdPath(b.fd), b.target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("bind private %s: %w", b.target, err)
			}
			unix.Close(b.fd)
		}
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			if err := unix.Mount("tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
				return fmt.Errorf("private /dev/shm: %w", err)
			}
		}
	}
	if sandboxFD < 0 {
		return nil
	}
	defer unix.Close(sandboxFD)
	// Under a private /tmp the target may not exist any more: make it there.
	if err := os.MkdirAll(s.SandboxTarget, 0o755); err != nil {
		return fmt.Errorf("sandbox target %s: %w", s.SandboxTarget, err)
	}
	if err := unix.Mount(fdPath(sandboxFD), s.SandboxTarget, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind sandbox at %s: %w", s.SandboxTarget, err)
	}
	return nil
}

// openDir opens a directory as an O_PATH handle a bind mount can use after
// its path has been covered.
func openDir(p string) (int, error) {
	fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", p, err)
	}
	return fd, nil
}

// fdPath names an open file for mount(2); /proc is the task's fresh one.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if _, err := os.Stat(file); err != nil {
			return "", fmt.Errorf("command %s: %w", file, err)
		}
		return file, nil
	}
	p := DefaultPath
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			p = strings.TrimPrefix(e, "PATH=")
		}
	}
	for _, dir := range filepath.SplitList(p) {
		cand := filepath.Join(dir, file)
		if fi, err := os.Stat(cand); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH %s", file, p)
}

// RootModeEnv tells the task how its root was entered: "pivot_root" or "chroot".
const RootModeEnv = "GLEANER_ROOT_MODE"

// enterRoot builds the task's root in the (already private) mount namespace
// and moves into it, returning "pivot_root" or "chroot".
func enterRoot(s *Spec) (string, error) {
	merged := filepath.Join(s.StateDir, "merged")
	upper := filepath.Join(s.StateDir, "upper")
	work := filepath.Join(s.StateDir, "work")
	for _, d := range []string{merged, upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("rootfs state: %w", err)
		}
	}
	overlaid := false
	if !s.NoOverlay {
		opts := "lowerdir=" + s.Rootfs + ",upperdir=" + upper + ",workdir=" + work
		if err := unix.Mount("overlay", merged, "overlay", 0, opts); err == nil {
			overlaid = true
		}
	}
	if !overlaid {
		if err := copyTree(s.Rootfs, merged); err != nil {
			return "", fmt.Errorf("copy rootfs: %w", err)
		}
		if err := unix.Mount(merged, merged, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return "", fmt.Errorf("bind rootfs: %w", err)
		}
	}
	if err := mountProc(merged); err != nil {
		return "", err
	}
	if err := mountDev(merged); err != nil {
		return "", err
	}
	if s.Sandbox != "" {
		target := s.SandboxTarget
		if target == "" {
			target = DefaultSandboxTarget
		}
		if err := bindInto(merged, s.Sandbox, target, false); err != nil {
			return "", fmt.Errorf("sandbox: %w", err)
		}
	}
	for _, v := range s.Volumes {
		if err := bindInto(merged, v.HostPath, v.ContainerPath, v.ReadOnly); err != nil {
			return "", fmt.Errorf("volume %s:%s: %w", v.HostPath, v.ContainerPath, err)
		}
	}
	if !s.NoPivot {
		if err := pivot(merged); err == nil {
			return "pivot_root", nil
		}
	}
	if err := unix.Chroot(merged); err != nil {
		return "", fmt.Errorf("chroot %s: %w", merged, err)
	}
	return "chroot", os.Chdir("/")
}

func pivot(root string) error {
	if err := os.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return os.Chdir("/")
}

func mountProc(root string) error {
	p, err := mkdirIn(root, "/proc")
	if err != nil {
		return fmt.Errorf("/proc: %w", err)
	}
	if err := unix.Mount("proc", p, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	return protectProc(p)
}

// readOnlyProc are the parts of /proc that change the whole host (sysctls,
// sysrq, IRQ affinity): read-only for every task, root or not.
var readOnlyProc = []string{"sys", "sysrq-trigger", "irq", "bus", "fs"}

func protectProc(proc string) error {
	for _, name := range readOnlyProc {
		p := filepath.Join(proc, name)
		if _, err := os.Lstat(p); err != nil {
			continue // not in this kernel
		}
		if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("/proc/%s read-only: %w", name, err)
		}
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
		if err := unix.Mount("", p, "", flags, ""); err != nil {
			return fmt.Errorf("/proc/%s read-only: %w", name, err)
		}
	}
	return nil
}

var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

func mountDev(root string) error {
	dev, err := mkdirIn(root, "/dev")
	if err != nil {
		return fmt.Errorf("/dev: %w", err)
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for _, n := range devNodes {
		target := filepath.Join(dev, n)
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return fmt.Errorf("/dev/%s: %w", n, err)
		}
		if err := unix.Mount("/dev/"+n, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", n, err)
		}
	}
	for link, to := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(to, filepath.Join(dev, link)); err != nil {
			return fmt.Errorf("/dev/%s: %w", link, err)
		}
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return err
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	return nil
}

// mkdirIn creates the absolute in-root path p under root without following
// symlinks (a bundle could point /proc at /etc on the host otherwise).
func mkdirIn(root, p string) (string, error) {
	rel, err := inRootPath(p)
	if err != nil {
		return "", err
	}
	cur := root
	for _, part := range strings.Split(rel, "/") {
		if part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil {
				return "", err
			}
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink != 0:
			return "", fmt.Errorf("%s: path goes through a symlink in the bundle", p)
		case !fi.IsDir():
			return "", fmt.Errorf("%s: not a directory in the bundle", p)
		}
	}
	return cur, nil
}

func inRootPath(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("path %q must be absolute", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("path %q must not contain ..", p)
		}
	}
	return strings.TrimPrefix(path.Clean(p), "/"), nil
}

// bindInto bind-mounts host path src at target inside root.
func bindInto(root, src, target string, readOnly bool) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	var dst string
	if fi.IsDir() {
		if dst, err = mkdirIn(root, target); err != nil {
			return err
		}
	} else {
		parent, err := mkdirIn(root, path.Dir(target))
		if err != nil {
			return err
		}
		dst = filepath.Join(parent, path.Base(target))
		if lfi, err := os.Lstat(dst); err == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink in the bundle", target)
		} else if errors.Is(err, fs.ErrNotExist) {
			if err := os.WriteFile(dst, nil, 0o644); err != nil {
				return err
			}
		}
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind mount: %w", err)
	}
	if readOnly {
		if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("remount read-only: %w", err)
		}
	}
	return nil
}

// copyTree copies src into dst (the overlay fallback): directories, files,
// symlinks; hard links become copies.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, fi.Mode()&(fs.ModePerm|fs.ModeSticky))
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case fi.Mode().IsRegular():
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, fi.Mode().Perm())
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		}
		return nil
	})
}
