package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"

	"github.com/gleaner-project/gleaner/executor/cgroups"
	"github.com/gleaner-project/gleaner/executor/sandbox"
	"github.com/gleaner-project/gleaner/executor/taskdir"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/rootfs"
)

// Limitations that end a task.
const (
	LimitMemory  = "memory"
	LimitDisk    = "disk"
	LimitTimeout = "timeout"
)

// oomPollInterval is how often a task's cgroup is checked for OOM kills.
const oomPollInterval = 100 * time.Millisecond

// cpuReapplyInterval is how often a CPU quota the kernel refused (the batch
// parent was capped below it) is tried again.
const cpuReapplyInterval = time.Second

// task is one running task.
type task struct {
	id      string
	info    mesos.TaskInfo
	payload *gleanerpb.TaskPayload
	dir     string // <sandbox>/tasks/<id>
	proc    *sandbox.Process
	cg      cgroups.Manager
	memMB   float64
	diskMB  float64
	bundle  *rootfs.Lease // the cached bundle, held until the task ends
	outputs string        // host path of $GLEANER_OUTPUTS (outputs.go)

	mu         sync.Mutex
	stopReason string // "kill", "shutdown", LimitDisk, LimitTimeout
	stopDetail string
	killOnce   sync.Once
	stopped    chan struct{} // closed when a stop was requested
}

func mib(b float64) string {
	if b == float64(int64(b)) {
		return fmt.Sprintf("%d MiB", int64(b))
	}
	return fmt.Sprintf("%.1f MiB", b)
}

// decodePayload reads TaskInfo.data; a task without data but with a
// CommandInfo runs that command on the host.
func decodePayload(ti mesos.TaskInfo) (*gleanerpb.TaskPayload, error) {
	p := &gleanerpb.TaskPayload{}
	if len(ti.Data) > 0 {
		if err := p.Unmarshal(ti.Data); err != nil {
			return nil, fmt.Errorf("decode TaskPayload from TaskInfo.data: %w", err)
		}
	} else if c := ti.GetCommand(); c != nil && c.GetValue() != "" {
		p.Shell = c.GetShell()
		p.Command = c.GetValue()
		p.Args = c.Arguments
		if c.Shell == nil {
			p.Shell = true
		}
	} else {
		return nil, errors.New("task has neither TaskInfo.data nor a command")
	}
	if p.Command == "" && len(p.Args) == 0 {
		return nil, errors.New("payload: command or args is required")
	}
	if p.Shell && p.Command == "" {
		return nil, errors.New("payload: shell needs command")
	}
	if p.Bundle != nil {
		if _, err := parseDigest(p.Bundle.Digest); err != nil {
			return nil, fmt.Errorf("payload: bundle.digest: %w", err)
		}
	}
	for i, v := range p.Volumes {
		if !path.IsAbs(v.ContainerPath) || strings.Contains(v.ContainerPath, "..") {
			return nil, fmt.Errorf("payload: volumes[%d].container_path %q must be absolute without ..", i, v.ContainerPath)
		}
		if !filepath.IsAbs(v.HostPath) {
			return nil, fmt.Errorf("payload: volumes[%d].host_path %q must be absolute", i, v.HostPath)
		}
	}
	if p.TimeoutSeconds < 0 {
		return nil, errors.New("payload: timeout_seconds must not be negative")
	}
	return p, nil
}

func (e *Executor) status(id string, st mesos.TaskState) mesos.TaskStatus {
	return mesos.TaskStatus{TaskID: mesos.TaskID{Value: id}, State: st.Enum()}
}

// launch handles a LAUNCH: STARTING at once, RUNNING once the process
// runs, and a terminal update when it ends or cannot start.
func (e *Executor) launch(ti mesos.TaskInfo) {
	id := ti.TaskID.Value
	e.mu.Lock()
	err := e.state.Launch(ti)
	shutting := e.shutdown
	if err == nil {
		e.launches++
	}
	e.mu.Unlock()
	if err != nil {
		e.log.Warn("duplicate launch ignored", "task", id, "err", err)
		return
	}
	e.update(e.status(id, mesos.TASK_STARTING))
	if shutting {
		e.fail(id, mesos.TASK_KILLED, mesos.REASON_EXECUTOR_TERMINATED, "executor is shutting down", nil)
		return
	}
	t := &task{id: id, info: ti, stopped: make(chan struct{})}
	e.mu.Lock()
	e.tasks[id] = t
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.runTask(t)
		e.mu.Lock()
		delete(e.tasks, id)
		e.mu.Unlock()
		e.ping()
	}()
}

// fail sends a terminal update for a task that never ran.
func (e *Executor) fail(id string, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string, res *gleanerpb.TaskResult) {
	if res == nil {
		res = &gleanerpb.TaskResult{ExitCode: -1}
	}
	res.Message = msg
	if res.FinishedAt == 0 {
		res.FinishedAt = unixNow()
	}
	st := e.status(id, state)
	st.Message = &msg
	if reason != 0 {
		st.Reason = reason.Enum()
	}
	if b, err := res.Marshal(); err == nil {
		st.Data = b
	}
	e.update(st)
}

func unixNow() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func (e *Executor) runTask(t *task) {
	log := e.log.With("task", t.id)
	p, err := decodePayload(t.info)
	if err != nil {
		e.fail(t.id, mesos.TASK_FAILED, mesos.REASON_TASK_INVALID, err.Error(), nil)
		return
	}
	t.payload = p
	t.dir = filepath.Join(e.cfg.Mesos.Directory, "tasks", taskdir.Name(t.id))
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		e.fail(t.id, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LAUNCH_FAILED, "task directory: "+err.Error(), nil)
		return
	}
	spec, err := e.prepare(t)
	if err != nil {
		e.fail(t.id, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LAUNCH_FAILED, err.Error(), nil)
		e.cleanupFailedStart(t)
		return
	}
	limit := e.cfg.LogLimitBytes
	if p.LogLimitBytes > 0 {
		limit = int64(p.LogLimitBytes)
	}
	stdout, err1 := newCappedFile(filepath.Join(t.dir, "stdout"), limit, 0, 0)
	stderr, err2 := newCappedFile(filepath.Join(t.dir, "stderr"), limit, 0, 0)
	if err := errors.Join(err1, err2); err != nil {
		e.fail(t.id, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LAUNCH_FAILED, err.Error(), nil)
		e.cleanupFailedStart(t)
		return
	}
	t.mu.Lock()
	early := t.stopReason != ""
	t.mu.Unlock()
	if early { // KILL or SHUTDOWN arrived while the task was being prepared
		stdout.Close()
		stderr.Close()
		e.cleanupFailedStart(t)
		e.fail(t.id, mesos.TASK_KILLED, 0, "killed before it started", nil)
		return
	}
	opts := sandbox.Options{Spec: spec, Self: e.cfg.Self, Stdout: stdout, Stderr: stderr}
	if t.cg != nil {
		opts.Cgroup = t.cg
	}
	proc, err := sandbox.Start(opts)
	if err != nil {
		stdout.Close()
		stderr.Close()
		e.fail(t.id, mesos.TASK_FAILED, mesos.REASON_CONTAINER_LAUNCH_FAILED, "start task: "+err.Error(), nil)
		e.cleanupFailedStart(t)
		return
	}
	t.mu.Lock()
	t.proc = proc
	late := t.stopReason != ""
	t.mu.Unlock()
	if late { // stopped between the check above and the start: no grace left to give
		_ = proc.Signal(syscall.SIGKILL)
	}
	e.update(e.status(t.id, mesos.TASK_RUNNING))
	log.Info("task running", "pid", proc.Pid, "bundle", p.Bundle != nil)

	ctx, cancel := context.WithCancel(context.Background())
	go e.watch(ctx, t)
	ex := proc.Wait()
	cancel()
	finished := time.Now()
	// Whatever the task left behind in its cgroup dies with it.
	var stats cgroups.Stats
	if t.cg != nil {
		_ = t.cg.Kill(2 * time.Second)
		stats, _ = t.cg.Stats()
	}
	select {
	case <-proc.OutputDone():
	case <-time.After(2 * time.Second):
	}
	stdout.Close()
	stderr.Close()

	res := &gleanerpb.TaskResult{
		ExitCode:        int32(ex.Code),
		Signal:          int32(ex.Signal),
		CpuSeconds:      stats.CPUSeconds,
		MemoryPeakBytes: stats.MemoryPeak,
		StartedAt:       float64(proc.Started.UnixNano()) / 1e9,
		FinishedAt:      float64(finished.UnixNano()) / 1e9,
	}
	state, reason, msg := e.outcome(t, ex, stats, res)
	if state == mesos.TASK_FINISHED {
		state, msg = collectOutputs(t, res, state, msg)
	}
	if state == mesos.TASK_FINISHED {
		state, msg = uploadOutputs(t, res, state, msg) // artifacts.go
	}
	if t.cg != nil {
		if err := t.cg.Destroy(); err != nil {
			log.Warn("cgroup cleanup", "err", err)
		}
	}
	e.cleanup(t, state)
	e.removePrivateTmp(t)
	t.releaseBundle()
	log.Info("task ended", "state", state.String(), "message", msg)
	e.fail(t.id, state, reason, msg, res)
}

// outcome turns how the process ended, and why it was stopped, into the
// terminal state, reason and message.
func (e *Executor) outcome(t *task, ex sandbox.Exit, stats cgroups.Stats, res *gleanerpb.TaskResult) (mesos.TaskState, mesos.TaskStatus_Reason, string) {
	t.mu.Lock()
	stop, detail := t.stopReason, t.stopDetail
	t.mu.Unlock()
	how := ex.String()
	oom := t.memMB > 0 && (stop == LimitMemory || stats.OOMKills > 0 ||
		(ex.Signal == syscall.SIGKILL && stats.MemFailures > 0 && stop == ""))
	switch {
	case oom:
		res.Limitation = LimitMemory
		return mesos.TASK_FAILED, mesos.REASON_CONTAINER_LIMITATION_MEMORY,
			fmt.Sprintf("memory limit %s exceeded (%s)", mib(t.memMB), how)
	case stop == LimitDisk:
		res.Limitation = LimitDisk
		return mesos.TASK_FAILED, mesos.REASON_CONTAINER_LIMITATION_DISK, fmt.Sprintf("%s (%s)", detail, how)
	case stop == LimitTimeout:
		res.Limitation = LimitTimeout
		return mesos.TASK_FAILED, mesos.REASON_MAX_COMPLETION_TIME_REACHED, fmt.Sprintf("%s (%s)", detail, how)
	case stop == "kill" || stop == "shutdown":
		if ex.Signal == 0 && ex.Code == 0 {
			return mesos.TASK_KILLED, 0, "killed: " + how
		}
		return mesos.TASK_KILLED, 0, how
	case ex.Signal == 0 && ex.Code == 0:
		return mesos.TASK_FINISHED, 0, how
	}
	return mesos.TASK_FAILED, 0, how
}

// prepare sets up the bundle, the cgroup, the user and the spec.
func (e *Executor) prepare(t *task) (sandbox.Spec, error) {
	p := t.payload
	var rootDir string
	if p.Bundle != nil {
		dir, err := e.acquireBundle(t)
		if err != nil {
			return sandbox.Spec{}, err
		}
		rootDir = dir
	}
	userName := taskUser(p.User, p.JobId, e.cfg.TaskUIDs, e.cfg.User)
	uid, gid, err := resolveUser(userName, e.cfg.AllowRootTasks, rootDir != "")
	if err != nil {
		return sandbox.Spec{}, err
	}
	// Limits: the payload's, else the task's Mesos resources.
	lim := p.Limits
	if lim == nil {
		lim = &gleanerpb.Limits{}
	}
	cpus, mem, disk := lim.Cpus, lim.MemMb, lim.DiskMb
	if cpus == 0 {
		cpus, _ = resources.CPUs(t.info.Resources...)
	}
	if mem == 0 {
		if m, ok := resources.Memory(t.info.Resources...); ok {
			mem = float64(m)
		}
	}
	if disk == 0 {
		if d, ok := resources.Disk(t.info.Resources...); ok {
			disk = float64(d)
		}
	}
	t.memMB, t.diskMB = mem, disk
	if !e.cfg.NoCgroups {
		e.sweepStaleCgroups()
		cg, err := cgroups.New(cgroups.Config{Root: e.cfg.CgroupRoot, Parent: e.cfg.CgroupParent}, taskdir.Name(t.id))
		if err != nil {
			return sandbox.Spec{}, fmt.Errorf("cgroup: %w", err)
		}
		t.cg = cg
		mode := lim.CpuMode
		if mode == gleanerpb.CPUMode_CPU_MODE_DEFAULT {
			mode = e.cfg.DefaultCPUMode
		}
		pids := int64(lim.Pids)
		if pids == 0 {
			pids = e.cfg.DefaultPids
		}
		r := cgroups.Resources{CPUs: cpus, HardCap: mode == gleanerpb.CPUMode_CPU_MODE_HARD_CAP,
			MemoryBytes: int64(mem * (1 << 20)), Pids: pids}
		if err := cg.Set(r); err != nil {
			return sandbox.Spec{}, fmt.Errorf("cgroup limits: %w", err)
		}
	}
	sb := filepath.Join(t.dir, "sandbox")
	if err := os.MkdirAll(sb, 0o755); err != nil {
		return sandbox.Spec{}, err
	}
	if err := os.Chown(sb, int(uid), int(gid)); err != nil {
		return sandbox.Spec{}, fmt.Errorf("sandbox owner: %w", err)
	}
	if t.outputs, err = makeOutputsDir(sb, uid, gid); err != nil {
		return sandbox.Spec{}, err
	}
	if err := fetchInputs(t, sb, uid, gid); err != nil { // artifacts.go
		return sandbox.Spec{}, err
	}
	spec := sandbox.Spec{UID: uid, GID: gid, KeepRoot: uid == 0 && gid == 0, NoPivot: e.cfg.NoPivot, NoOverlay: e.cfg.NoOverlay}
	// Without a bundle the task sees its sandbox over the executor's run
	// directory (0750 for the agent's user on a real agent), in its own
	// mount namespace: reachable by its path, nothing else of the executor's.
	spec.Sandbox, spec.SandboxTarget = sb, e.cfg.Mesos.Directory
	inside := e.cfg.Mesos.Directory
	if rootDir != "" {
		spec.Rootfs = rootDir
		spec.StateDir = filepath.Join(t.dir, "rootfs")
		spec.Sandbox = sb
		spec.SandboxTarget = sandbox.DefaultSandboxTarget
		inside = sandbox.DefaultSandboxTarget
		for _, v := range p.Volumes {
			spec.Volumes = append(spec.Volumes, sandbox.Volume{HostPath: v.HostPath, ContainerPath: v.ContainerPath, ReadOnly: v.ReadOnly})
		}
	} else if len(p.Volumes) > 0 {
		return sandbox.Spec{}, errors.New("volumes need a bundle (tasks on the host see the host's file system)")
	} else {
		// Tasks on the host never share its /tmp: theirs lives in the task
		// directory (counted in the disk quota) and goes when the task ends.
		tmp, err := makePrivateTmp(t.dir, uid, gid)
		if err != nil {
			return sandbox.Spec{}, err
		}
		spec.PrivateTmp = tmp
	}
	switch {
	case p.Shell:
		spec.Argv = []string{"/bin/sh", "-c", p.Command}
	case len(p.Args) > 0:
		spec.Argv = append([]string(nil), p.Args...)
		if p.Command != "" {
			spec.Argv = append([]string{p.Command}, p.Args...)
		}
	default:
		spec.Argv = []string{p.Command}
	}
	spec.WorkDir = p.WorkDir
	if spec.WorkDir == "" {
		spec.WorkDir = inside
	}
	env := map[string]string{
		"PATH":          sandbox.DefaultPath,
		"HOME":          "/",
		"MESOS_SANDBOX": inside,
		"MESOS_TASK_ID": t.id,
		OutputsEnv:      path.Join(inside, OutputsDir),
	}
	if p.JobId != "" {
		env["GLEANER_JOB_ID"] = p.JobId
		env["GLEANER_TASK_NAME"] = p.TaskName
		env["GLEANER_TASK_INDEX"] = fmt.Sprint(p.Index)
		env["GLEANER_ATTEMPT"] = fmt.Sprint(p.Attempt)
	}
	for k, v := range p.Env {
		env[k] = v
	}
	for k, v := range env {
		spec.Env = append(spec.Env, k+"="+v)
	}
	return spec, nil
}

// privateTmpDir is the task directory's subdirectory holding a bare task's
// /tmp and /var/tmp.
const privateTmpDir = "private-tmp"

// makePrivateTmp makes <task dir>/private-tmp/{tmp,var-tmp}, sticky and
// world-writable like /tmp inside but owned by the task's user, behind the
// 0700 private-tmp directory (root's), which no task user can traverse from
// the host.
func makePrivateTmp(taskDir string, uid, gid uint32) (string, error) {
	dir := filepath.Join(taskDir, privateTmpDir)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("private /tmp: %w", err)
	}
	for sub := range sandbox.PrivateTmpDirs {
		d := filepath.Join(dir, sub)
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("private /tmp: %w", err)
		}
		if err := os.Chown(d, int(uid), int(gid)); err != nil {
			return "", fmt.Errorf("private /tmp owner: %w", err)
		}
		if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
			return "", fmt.Errorf("private /tmp mode: %w", err)
		}
	}
	return dir, nil
}

// watch enforces the timeout and the disk quota while the task runs.
func (e *Executor) watch(ctx context.Context, t *task) {
	var timeout <-chan time.Time
	if s := t.payload.TimeoutSeconds; s > 0 {
		d := time.Duration(s * float64(time.Second))
		tm := time.NewTimer(d)
		defer tm.Stop()
		timeout = tm.C
	}
	var tick <-chan time.Time
	if t.diskMB > 0 {
		tk := time.NewTicker(e.cfg.DiskCheckInterval)
		defer tk.Stop()
		tick = tk.C
	}
	// An OOM kill of any process of the task ends the whole task, as the
	// Mesos containerizer destroys the container on a memory limitation.
	var oomTick <-chan time.Time
	if t.memMB > 0 && t.cg != nil {
		tk := time.NewTicker(oomPollInterval)
		defer tk.Stop()
		oomTick = tk.C
	}
	// A hard CPU cap refused while the monitor throttles the batch parent is
	// written again until the kernel takes it.
	var cpuTick <-chan time.Time
	if t.cg != nil {
		if pending, _ := t.cg.ReapplyCPU(); pending {
			tk := time.NewTicker(cpuReapplyInterval)
			defer tk.Stop()
			cpuTick = tk.C
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-cpuTick:
			pending, err := t.cg.ReapplyCPU()
			if err != nil {
				e.log.Warn("reapply cpu quota", "task", t.id, "err", err)
			}
			if !pending {
				cpuTick = nil
			}
		case <-oomTick:
			if st, err := t.cg.Stats(); err == nil && st.OOMKills > 0 {
				e.stop(t, LimitMemory, "", 0)
				return
			}
		case <-timeout:
			e.stop(t, LimitTimeout, fmt.Sprintf("timed out after %v", time.Duration(t.payload.TimeoutSeconds*float64(time.Second))), e.grace(t, nil))
		case <-tick:
			used := rootfs.DiskUsage(t.dir)
			if float64(used) > t.diskMB*(1<<20) {
				e.stop(t, LimitDisk, fmt.Sprintf("disk limit %s exceeded (sandbox uses %s)", mib(t.diskMB), mib(float64(used)/(1<<20))), 0)
				return
			}
		}
	}
}

// grace is the kill grace period: the KILL's policy, else the task's, else the default.
func (e *Executor) grace(t *task, policy *mesos.KillPolicy) time.Duration {
	for _, kp := range []*mesos.KillPolicy{policy, t.info.GetKillPolicy()} {
		if kp != nil && kp.GracePeriod != nil {
			return time.Duration(kp.GracePeriod.GetNanoseconds())
		}
	}
	return e.cfg.KillGracePeriod
}

// stop ends a task: SIGTERM to its process group, then SIGKILL to the
// group and the whole cgroup after the grace period (at once when grace is 0).
// The first reason wins.
func (e *Executor) stop(t *task, reason, detail string, grace time.Duration) {
	t.killOnce.Do(func() {
		t.mu.Lock()
		t.stopReason, t.stopDetail = reason, detail
		proc := t.proc
		t.mu.Unlock()
		close(t.stopped)
		if proc == nil {
			return // not started yet: runTask sees the reason and does not start it
		}
		e.log.Info("stopping task", "task", t.id, "reason", reason, "grace", grace)
		go func() {
			if grace > 0 {
				_ = proc.Signal(syscall.SIGTERM)
				select {
				case <-proc.Done():
					return
				case <-time.After(grace):
				}
			}
			_ = proc.Signal(syscall.SIGKILL)
			if t.cg != nil {
				_ = t.cg.Kill(2 * time.Second)
			}
		}()
	})
}

// kill handles a KILL event.
func (e *Executor) kill(id string, policy *mesos.KillPolicy) {
	e.mu.Lock()
	t, running := e.tasks[id]
	latest, known := e.state.Latest(id)
	killing := e.killing
	e.mu.Unlock()
	if !running {
		if known && !IsTerminal(latest) {
			e.fail(id, mesos.TASK_KILLED, 0, "killed before it started", nil)
		}
		return
	}
	if killing {
		t.mu.Lock()
		first, started := t.stopReason == "", t.proc != nil
		t.mu.Unlock()
		if first && started {
			e.update(e.status(id, mesos.TASK_KILLING))
		}
	}
	e.stop(t, "kill", "", e.grace(t, policy))
}

// killAll stops every task (SHUTDOWN, lost agent).
func (e *Executor) killAll(why string, graceful bool) {
	e.mu.Lock()
	ts := make([]*task, 0, len(e.tasks))
	for _, t := range e.tasks {
		ts = append(ts, t)
	}
	e.mu.Unlock()
	for _, t := range ts {
		g := time.Duration(0)
		if graceful {
			g = e.grace(t, nil)
			if max := e.cfg.Mesos.ExecutorShutdownGracePeriod / 2; g > max {
				g = max
			}
		}
		e.stop(t, "shutdown", why, g)
	}
}

// cleanup applies the payload's cleanup policy once the task has ended:
// the rootfs copy and the task's sandbox go; stdout and stderr stay.
func (e *Executor) cleanup(t *task, state mesos.TaskState) {
	remove := false
	switch t.payload.Cleanup {
	case gleanerpb.CleanupPolicy_CLEANUP_REMOVE_FINISHED:
		remove = state == mesos.TASK_FINISHED
	case gleanerpb.CleanupPolicy_CLEANUP_REMOVE_FAILED:
		remove = state != mesos.TASK_FINISHED
	case gleanerpb.CleanupPolicy_CLEANUP_REMOVE_ALL:
		remove = true
	}
	if !remove {
		return
	}
	for _, d := range []string{"rootfs", "sandbox"} {
		if err := os.RemoveAll(filepath.Join(t.dir, d)); err != nil {
			e.log.Warn("cleanup", "task", t.id, "err", err)
		}
	}
}

// removePrivateTmp removes a bare task's /tmp and /var/tmp once it ended,
// whatever the cleanup policy (they were temporary to the task).
func (e *Executor) removePrivateTmp(t *task) {
	if err := os.RemoveAll(filepath.Join(t.dir, privateTmpDir)); err != nil {
		e.log.Warn("remove private /tmp", "task", t.id, "err", err)
	}
}

func (e *Executor) cleanupFailedStart(t *task) {
	t.releaseBundle()
	e.removePrivateTmp(t)
	if t.cg != nil {
		_ = t.cg.Destroy()
	}
	_ = os.RemoveAll(filepath.Join(t.dir, "rootfs"))
}

func parseDigest(d string) (string, error) { return rootfs.ParseDigest(d) }
