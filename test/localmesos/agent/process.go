package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"

	"github.com/gleaner-project/gleaner/test/localmesos/cmdexec"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

func newUUID() []byte { return wire.NewUUID() }

// FormatDuration writes d the way stout prints durations (and mesos-go's
// config.FromEnv parses them): the largest unit that fits, e.g. "5secs",
// "15mins", "1.5secs", "250ms".
func FormatDuration(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{
		{7 * 24 * time.Hour, "weeks"}, {24 * time.Hour, "days"}, {time.Hour, "hrs"},
		{time.Minute, "mins"}, {time.Second, "secs"}, {time.Millisecond, "ms"}, {time.Microsecond, "us"},
	}
	for _, u := range units {
		if d >= u.d {
			return strconv.FormatFloat(float64(d)/float64(u.d), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// executorConfig is what the executor learns from its environment.
func (a *Agent) executorConfig(ex *executorRun) config.Config {
	c := config.Config{
		FrameworkID:                 ex.fw.id(),
		ExecutorID:                  ex.info.ExecutorID.Value,
		Directory:                   ex.dir,
		Sandbox:                     ex.dir,
		AgentEndpoint:               a.addr,
		ExecutorShutdownGracePeriod: a.gracePeriod(ex),
		Checkpoint:                  ex.fw.info.GetCheckpoint(),
	}
	if c.Checkpoint {
		c.RecoveryTimeout = a.cfg.RecoveryTimeout
		c.SubscriptionBackoffMax = a.cfg.ExecutorReregistrationTimeout
	}
	return c
}

// executorEnv is the executor's environment: the agent's own (without any
// MESOS_ or LIBPROCESS_ variables), the MESOS_* variables a Mesos agent sets,
// then CommandInfo.environment.
func (a *Agent) executorEnv(ex *executorRun) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MESOS_") && !strings.HasPrefix(kv, "LIBPROCESS_") {
			env = append(env, kv)
		}
	}
	c := a.executorConfig(ex)
	checkpoint := "0"
	if c.Checkpoint {
		checkpoint = "1"
	}
	env = append(env,
		"MESOS_FRAMEWORK_ID="+c.FrameworkID,
		"MESOS_EXECUTOR_ID="+c.ExecutorID,
		"MESOS_AGENT_ENDPOINT="+c.AgentEndpoint,
		"MESOS_DIRECTORY="+c.Directory,
		"MESOS_SANDBOX="+c.Sandbox,
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="+FormatDuration(c.ExecutorShutdownGracePeriod),
		"MESOS_CHECKPOINT="+checkpoint,
		"MESOS_SLAVE_ID="+a.id.Value,
		"MESOS_SLAVE_PID=slave(1)@"+a.addr,
		"LIBPROCESS_IP="+a.cfg.IP,
		"LIBPROCESS_PORT=0",
	)
	if c.Checkpoint {
		env = append(env,
			"MESOS_RECOVERY_TIMEOUT="+FormatDuration(c.RecoveryTimeout),
			"MESOS_SUBSCRIPTION_BACKOFF_MAX="+FormatDuration(c.SubscriptionBackoffMax))
	}
	if ex.kind == kindCommand {
		env = append(env, "MESOS_HTTP_COMMAND_EXECUTOR=1")
	}
	return append(env, commandEnv(ex.info.Command)...)
}

// commandEnv lists CommandInfo.environment VALUE variables as k=v.
func commandEnv(ci *mesos.CommandInfo) []string {
	var env []string
	if ci == nil || ci.Environment == nil {
		return nil
	}
	for _, v := range ci.Environment.Variables {
		if v.Type == nil || *v.Type == mesos.Environment_Variable_VALUE {
			env = append(env, v.Name+"="+v.GetValue())
		}
	}
	return env
}

// commandLine is how Mesos runs a CommandInfo: /bin/sh -c value when shell
// (the default), else value exec'd with arguments as argv.
func commandLine(ci *mesos.CommandInfo) (path string, argv []string, err error) {
	if ci == nil || ci.GetValue() == "" && ci.GetShell() {
		return "", nil, fmt.Errorf("command has no value")
	}
	if ci.GetShell() {
		return "/bin/sh", []string{"sh", "-c", ci.GetValue()}, nil
	}
	argv = ci.Arguments
	if len(argv) == 0 {
		argv = []string{ci.GetValue()}
	}
	return ci.GetValue(), argv, nil
}

// runCustomExecutor fetches the executor's URIs, starts its command in its
// own process group with stdout/stderr in the sandbox, and reaps it.
func (a *Agent) runCustomExecutor(ex *executorRun, env []string) {
	owner, err := a.prepareSandbox(ex, ex.info.Command.GetURIs())
	if err != nil {
		a.launchFailed(ex, err)
		return
	}
	path, argv, err := commandLine(ex.info.Command)
	if err != nil {
		a.launchFailed(ex, err)
		return
	}
	stdout, err := os.Create(filepath.Join(ex.dir, "stdout"))
	if err != nil {
		a.launchFailed(ex, err)
		return
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(ex.dir, "stderr"))
	if err != nil {
		a.launchFailed(ex, err)
		return
	}
	defer stderr.Close()
	cmd := &exec.Cmd{Path: path, Args: argv, Dir: ex.dir, Env: env, Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: owner.credential()}}
	if !filepath.IsAbs(path) && !strings.Contains(path, "/") {
		if lp, err := exec.LookPath(path); err == nil {
			cmd.Path = lp
		}
	}
	a.mu.Lock()
	if ex.killed {
		a.mu.Unlock()
		a.executorExited(ex, int32(syscall.SIGKILL))
		return
	}
	if err := cmd.Start(); err != nil {
		a.mu.Unlock()
		a.launchFailed(ex, err)
		return
	}
	ex.pgid = cmd.Process.Pid
	a.mu.Unlock()
	a.log.Info("executor started", "framework_id", ex.fw.id(), "executor_id", ex.info.ExecutorID.Value, "pid", cmd.Process.Pid, "sandbox", ex.dir)
	_ = cmd.Wait()
	// The container ends with its executor: nothing of the group survives.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	a.executorExited(ex, int32(ws))
}

// runCommandExecutor runs the built-in command executor for one task as a
// goroutine that talks to this agent over the executor HTTP API.
func (a *Agent) runCommandExecutor(ex *executorRun, env []string) {
	var uris []mesos.CommandInfo_URI
	a.mu.Lock()
	for _, t := range ex.tasks {
		uris = append(uris, t.info.Command.GetURIs()...)
	}
	a.mu.Unlock()
	owner, err := a.prepareSandbox(ex, uris)
	if err != nil {
		a.launchFailed(ex, err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.mu.Lock()
	if ex.killed {
		a.mu.Unlock()
		a.executorExited(ex, int32(syscall.SIGKILL))
		return
	}
	ex.cancel = cancel
	cfg := cmdexec.Config{
		Config:     a.executorConfig(ex),
		Env:        env,
		Credential: owner.credential(),
		Logger:     a.log,
		Started: func(pgid int) {
			a.mu.Lock()
			defer a.mu.Unlock()
			ex.childPgid = pgid
			if ex.killed {
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
		},
	}
	a.mu.Unlock()
	status := int32(0)
	if err := cmdexec.Run(ctx, cfg); err != nil {
		a.log.Info("command executor ended", "executor_id", cfg.ExecutorID, "err", err)
		status = 1 << 8
	}
	a.executorExited(ex, status)
}
