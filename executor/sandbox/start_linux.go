package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Placer puts a process into the task's cgroups before it runs anything.
type Placer interface {
	AddProc(pid int) error
}

// Options start a task.
type Options struct {
	Spec Spec
	// Self is the executable re-executed as the helper (default /proc/self/exe).
	Self string
	// Cgroup receives the helper before it reads its spec (nil: none).
	Cgroup Placer
	// Stdout and Stderr receive the task's output (nil: discarded).
	Stdout, Stderr io.Writer
	// ExtraEnv is added to the helper's own environment (not the task's).
	ExtraEnv []string
}

// Process is a started task.
type Process struct {
	Pid     int
	Started time.Time
	cmd     *exec.Cmd
	done    chan struct{}
	outDone chan struct{}
	state   *os.ProcessState
	waitErr error
	// taskStatus is the wait status of the task's main process as its
	// helper reported it (nil when the helper died first, e.g. SIGKILL).
	taskStatus *syscall.WaitStatus
}

// StartError is a failure to start the task itself (bad command, missing
// working directory, mount failure), reported by the helper.
type StartError struct{ Msg string }

func (e *StartError) Error() string { return e.Msg }

// TaskNamespaces are the namespaces every task gets, with or without a
// bundle: its own mounts (and /proc), PIDs, System V IPC and host name.
const TaskNamespaces = syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS

// Start launches the helper in a new process group and TaskNamespaces,
// moves it into the cgroup, hands it the spec and waits until the task's
// exec succeeded or failed.
func Start(o Options) (*Process, error) {
	self := o.Self
	if self == "" {
		self = "/proc/self/exe"
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return nil, err
	}
	exitR, exitW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		statusR.Close()
		statusW.Close()
		return nil, err
	}
	cmd := exec.Command(self, InitArg)
	cmd.Env = append([]string{"GOMAXPROCS=1", "GOGC=off"}, o.ExtraEnv...)
	cmd.ExtraFiles = []*os.File{specR, statusW, exitW}
	// Output goes through our own pipes so that Wait returns when the task's
	// main process exits, even if a descendant still holds the pipe open.
	var copiers sync.WaitGroup
	var childEnds []*os.File
	for _, pair := range []struct {
		w   io.Writer
		dst **os.File
	}{{o.Stdout, new(*os.File)}, {o.Stderr, new(*os.File)}} {
		if f, ok := pair.w.(*os.File); ok || pair.w == nil {
			childEnds = append(childEnds, f)
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			specR.Close()
			specW.Close()
			statusR.Close()
			statusW.Close()
			exitR.Close()
			exitW.Close()
			return nil, err
		}
		childEnds = append(childEnds, w)
		copiers.Add(1)
		go func(r *os.File, dst io.Writer) {
			defer copiers.Done()
			_, _ = io.Copy(dst, r)
			r.Close()
		}(r, pair.w)
	}
	if childEnds[0] != nil {
		cmd.Stdout = childEnds[0]
	}
	if childEnds[1] != nil {
		cmd.Stderr = childEnds[1]
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Cloneflags: TaskNamespaces}
	err = cmd.Start()
	specR.Close()
	statusW.Close()
	exitW.Close()
	for _, f := range childEnds {
		if f != nil && f != o.Stdout && f != o.Stderr {
			f.Close()
		}
	}
	outDone := make(chan struct{})
	go func() { copiers.Wait(); close(outDone) }()
	if err != nil {
		specW.Close()
		statusR.Close()
		exitR.Close()
		return nil, fmt.Errorf("start task helper: %w", err)
	}
	p := &Process{Pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{}), outDone: outDone}
	go func() {
		p.waitErr = cmd.Wait()
		p.state = cmd.ProcessState
		var b [4]byte
		if _, err := io.ReadFull(exitR, b[:]); err == nil {
			ws := syscall.WaitStatus(binary.LittleEndian.Uint32(b[:]))
			p.taskStatus = &ws
		}
		exitR.Close()
		close(p.done)
	}()
	fail := func(err error) (*Process, error) {
		specW.Close()
		statusR.Close()
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
		<-p.done
		return nil, err
	}
	if o.Cgroup != nil {
		if err := o.Cgroup.AddProc(p.Pid); err != nil {
			return fail(fmt.Errorf("join cgroup: %w", err))
		}
	}
	b, err := json.Marshal(o.Spec)
	if err != nil {
		return fail(err)
	}
	if _, err := specW.Write(b); err != nil {
		return fail(fmt.Errorf("send spec to task helper: %w", err))
	}
	specW.Close()
	msg, err := io.ReadAll(io.LimitReader(statusR, 64<<10))
	statusR.Close()
	if err != nil {
		return fail(fmt.Errorf("read task helper status: %w", err))
	}
	if len(msg) > 0 {
		<-p.done
		return nil, &StartError{Msg: strings.TrimSpace(string(msg))}
	}
	p.Started = time.Now()
	return p, nil
}

// Signal sends sig to every process of the task: through its helper, the
// init of the task's PID namespace, which passes it on; SIGKILL kills the
// helper, and with it the whole namespace, at once.
func (p *Process) Signal(sig syscall.Signal) error {
	err := syscall.Kill(p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// OutputDone is closed when every holder of the task's stdout and stderr
// has exited and the output has been copied.
func (p *Process) OutputDone() <-chan struct{} { return p.outDone }

// Done is closed when the task's main process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit describes how the process ended.
type Exit struct {
	Code   int // -1 when killed by a signal
	Signal syscall.Signal
}

func (e Exit) String() string {
	if e.Signal != 0 {
		return fmt.Sprintf("killed by signal %d", int(e.Signal))
	}
	return fmt.Sprintf("exited with status %d", e.Code)
}

// Wait blocks until the process exits and says how.
func (p *Process) Wait() Exit {
	<-p.done
	if p.taskStatus != nil {
		return exitOf(*p.taskStatus)
	}
	if p.state == nil {
		return Exit{Code: -1}
	}
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	if !ok {
		return Exit{Code: p.state.ExitCode()}
	}
	return exitOf(ws)
}

func exitOf(ws syscall.WaitStatus) Exit {
	if ws.Signaled() {
		return Exit{Code: -1, Signal: ws.Signal()}
	}
	return Exit{Code: ws.ExitStatus()}
}
