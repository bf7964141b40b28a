package cmdexec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"

	"github.com/gleaner-project/gleaner/proto/recordio"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// DefaultKillGracePeriod is how long a task has between SIGTERM and SIGKILL
// when neither the KILL event nor the task carries a kill policy (Mesos'
// command executor default).
const DefaultKillGracePeriod = 3 * time.Second

// ackWait bounds how long the executor waits, after its task ended, for the
// agent to acknowledge the last updates before it exits.
const ackWait = 10 * time.Second

// Config is the executor's configuration: what config.FromEnv would give
// plus the hooks the in-process agent needs.
type Config struct {
	config.Config
	// Env is the base environment of the task's command (the executor's own
	// environment); the task's CommandInfo.environment is added to it.
	Env []string
	// Started, if set, is called with the process group of the task's
	// command once it runs, so the agent can kill it if the host "dies".
	Started func(pgid int)
	// Credential, if set, is the user the task's command runs as (an agent
	// that switches users runs the command executor and its task as the
	// task's user).
	Credential *syscall.Credential
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Run runs the command executor until its task has ended and the agent has
// acknowledged the final update, the agent asks it to shut down, the
// connection is lost for good, or ctx ends (which kills the task at once).
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &cmdExecutor{cfg: cfg, log: cfg.Logger.With("executor_id", cfg.ExecutorID),
		unacked: map[string]executor.Call_Update{}, childDone: make(chan syscall.WaitStatus, 1)}
	u := url.URL{Scheme: "http", Host: cfg.AgentEndpoint, Path: "/api/v1/executor"}
	cli := httpcli.New(
		httpcli.Endpoint(u.String()),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))),
	)
	// SUBSCRIBE has its own client, whose stream is read with a bounded
	// RecordIO reader: the agent's SUBSCRIBED carries its attributes, which
	// may pass mesos-go's own 4 MiB frame limit.
	subCli := httpcli.New(append([]httpcli.Opt{
		httpcli.Endpoint(u.String()),
		httpcli.Do(httpcli.With(httpcli.Timeout(10 * time.Second))),
	}, recordio.ClientOptions(codecs.ByMediaType[codecs.MediaTypeProtobuf], maxAgentEventBytes, "")...)...)
	opts := executor.CallOptions{calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)}
	e.sender = calls.SenderWith(httpexec.NewSender(cli.Send), opts...)
	subscriber := calls.SenderWith(httpexec.NewSender(subCli.Send, httpcli.Close(true)), opts...)
	defer e.killGroup(syscall.SIGKILL)
	return e.run(ctx, subscriber)
}

// maxAgentEventBytes bounds one event from the agent, as the Gleaner
// executor's limit does.
const maxAgentEventBytes = 16 << 20

type cmdExecutor struct {
	cfg    Config
	log    *slog.Logger
	sender calls.Sender

	framework  mesos.FrameworkInfo
	task       *mesos.TaskInfo
	taskAcked  bool // an update of the task was acknowledged
	unacked    map[string]executor.Call_Update
	cmd        *exec.Cmd
	pgid       int
	childDone  chan syscall.WaitStatus
	killing    bool
	killTimer  *time.Timer
	terminal   bool
	terminalAt time.Time
	shutdown   bool
}

var errDisconnected = errors.New("disconnected from the agent")

func (e *cmdExecutor) run(ctx context.Context, subscriber calls.Sender) error {
	var disconnectedAt time.Time
	backoff := 250 * time.Millisecond
	for {
		err := e.session(ctx, subscriber)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		e.log.Info("command executor lost its subscription", "err", err)
		if !e.cfg.Checkpoint {
			return fmt.Errorf("%w (framework not checkpointing): %v", errDisconnected, err)
		}
		if disconnectedAt.IsZero() {
			disconnectedAt = time.Now()
		}
		if time.Since(disconnectedAt) > e.cfg.RecoveryTimeout {
			return fmt.Errorf("%w: not re-subscribed within %v", errDisconnected, e.cfg.RecoveryTimeout)
		}
		max := e.cfg.SubscriptionBackoffMax * 3 / 4
		if max <= 0 {
			max = time.Second
		}
		if backoff > max {
			backoff = max
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		case ws := <-e.childDone:
			e.childExited(ctx, ws) // queued as unacknowledged until re-subscribed
		}
		backoff *= 2
	}
}

// session is one subscription: it returns nil when the executor is done,
// or an error when the connection broke.
func (e *cmdExecutor) session(ctx context.Context, subscriber calls.Sender) error {
	var tasks []mesos.TaskInfo
	if e.task != nil && !e.taskAcked {
		tasks = append(tasks, *e.task)
	}
	var updates []executor.Call_Update
	for _, u := range e.unacked {
		updates = append(updates, u)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := subscriber.Send(sctx, calls.NonStreaming(calls.Subscribe(tasks, updates)))
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Close()
	events := make(chan *executor.Event)
	decodeErr := make(chan error, 1)
	go decodeLoop(sctx, resp, events, decodeErr)
	var ackTimeout <-chan time.Time
	for {
		if e.terminal && len(e.unacked) == 0 {
			return nil
		}
		if e.terminal && ackTimeout == nil {
			ackTimeout = time.After(time.Until(e.terminalAt.Add(ackWait)))
		}
		var killC <-chan time.Time
		if e.killTimer != nil {
			killC = e.killTimer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-decodeErr:
			return err
		case ev := <-events:
			if err := e.handle(ctx, ev); err != nil {
				return err
			}
			if e.shutdown && e.task == nil {
				return nil
			}
		case ws := <-e.childDone:
			e.childExited(ctx, ws)
		case <-killC:
			e.killTimer = nil
			e.log.Info("task did not end within its grace period; sending SIGKILL")
			e.killGroup(syscall.SIGKILL)
		case <-ackTimeout:
			e.log.Warn("agent did not acknowledge the final updates; exiting")
			return nil
		}
	}
}

func decodeLoop(ctx context.Context, dec encoding.Decoder, out chan<- *executor.Event, errc chan<- error) {
	for {
		var ev executor.Event
		if err := dec.Decode(&ev); err != nil {
			errc <- err
			return
		}
		select {
		case out <- &ev:
		case <-ctx.Done():
			return
		}
	}
}

func (e *cmdExecutor) handle(ctx context.Context, ev *executor.Event) error {
	switch ev.Type {
	case executor.Event_SUBSCRIBED:
		e.framework = ev.Subscribed.FrameworkInfo
	case executor.Event_LAUNCH:
		e.launch(ctx, ev.Launch.Task)
	case executor.Event_LAUNCH_GROUP:
		for _, t := range ev.LaunchGroup.TaskGroup.Tasks {
			e.sendStatus(ctx, t.TaskID, mesos.TASK_FAILED, "The command executor cannot run task groups")
		}
	case executor.Event_KILL:
		e.kill(ctx, ev.Kill.KillPolicy)
	case executor.Event_SHUTDOWN:
		e.shutdown = true
		// Leave the agent time to see the task's end before it destroys
		// the container at the end of its own grace period.
		grace := e.cfg.ExecutorShutdownGracePeriod / 2
		e.kill(ctx, &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(grace)}})
	case executor.Event_ACKNOWLEDGED:
		delete(e.unacked, string(ev.Acknowledged.UUID))
		if e.task != nil && ev.Acknowledged.TaskID == e.task.TaskID {
			e.taskAcked = true
		}
	case executor.Event_ERROR:
		return fmt.Errorf("agent sent ERROR: %s", ev.Error.GetMessage())
	}
	return nil // MESSAGE and HEARTBEAT need nothing
}

func (e *cmdExecutor) launch(ctx context.Context, ti mesos.TaskInfo) {
	if e.task != nil {
		e.sendStatus(ctx, ti.TaskID, mesos.TASK_FAILED, "Attempted to run multiple tasks using a command executor")
		return
	}
	e.task = &ti
	e.sendStatus(ctx, ti.TaskID, mesos.TASK_STARTING, "")
	if err := e.start(ti); err != nil {
		e.sendStatus(ctx, ti.TaskID, mesos.TASK_FAILED, "Failed to launch task: "+err.Error())
		e.terminal = true
		e.terminalAt = time.Now()
		return
	}
	e.sendStatus(ctx, ti.TaskID, mesos.TASK_RUNNING, "")
}

func (e *cmdExecutor) start(ti mesos.TaskInfo) error {
	ci := ti.Command
	if ci == nil {
		return errors.New("task has no command")
	}
	var path string
	var argv []string
	if ci.GetShell() {
		path, argv = "/bin/sh", []string{"sh", "-c", ci.GetValue()}
	} else {
		path, argv = ci.GetValue(), ci.Arguments
		if len(argv) == 0 {
			argv = []string{path}
		}
		if !strings.Contains(path, "/") {
			if lp, err := exec.LookPath(path); err == nil {
				path = lp
			}
		}
	}
	env := append([]string(nil), e.cfg.Env...)
	env = append(env, "MESOS_TASK_ID="+ti.TaskID.Value)
	if ci.Environment != nil {
		for _, v := range ci.Environment.Variables {
			if v.Type == nil || *v.Type == mesos.Environment_Variable_VALUE {
				env = append(env, v.Name+"="+v.GetValue())
			}
		}
	}
	open := func(name string) (*os.File, error) {
		return os.OpenFile(filepath.Join(e.cfg.Sandbox, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	stdout, err := open("stdout")
	if err != nil {
		return err
	}
	stderr, err := open("stderr")
	if err != nil {
		stdout.Close()
		return err
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Dir: e.cfg.Sandbox, Env: env, Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: e.cfg.Credential}}
	err = cmd.Start()
	stdout.Close()
	stderr.Close()
	if err != nil {
		return err
	}
	e.cmd, e.pgid = cmd, cmd.Process.Pid
	if e.cfg.Started != nil {
		e.cfg.Started(e.pgid)
	}
	go func() {
		_ = cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		e.childDone <- ws
	}()
	return nil
}

// kill sends SIGTERM to the task's process group (TASK_KILLING first when
// the framework understands it) and SIGKILL after the grace period.
func (e *cmdExecutor) kill(ctx context.Context, override *mesos.KillPolicy) {
	if e.cmd == nil || e.killing {
		if e.task != nil && e.cmd == nil && !e.terminal {
			e.sendStatus(ctx, e.task.TaskID, mesos.TASK_KILLED, "Task killed before it started")
			e.terminal, e.terminalAt = true, time.Now()
		}
		return
	}
	e.killing = true
	grace := DefaultKillGracePeriod
	policy := override
	if policy == nil {
		policy = e.task.KillPolicy
	}
	if policy != nil && policy.GracePeriod != nil {
		grace = time.Duration(policy.GracePeriod.Nanoseconds)
	}
	for _, c := range e.framework.Capabilities {
		if c.Type == mesos.FrameworkInfo_Capability_TASK_KILLING_STATE {
			e.sendStatus(ctx, e.task.TaskID, mesos.TASK_KILLING, "")
			break
		}
	}
	e.killGroup(syscall.SIGTERM)
	if grace < 0 {
		grace = 0
	}
	e.killTimer = time.NewTimer(grace)
}

func (e *cmdExecutor) killGroup(sig syscall.Signal) {
	if e.pgid > 0 {
		_ = syscall.Kill(-e.pgid, sig)
	}
}

func (e *cmdExecutor) childExited(ctx context.Context, ws syscall.WaitStatus) {
	e.killGroup(syscall.SIGKILL) // leftovers of the task's group
	e.pgid = 0
	e.cmd = nil
	if e.killTimer != nil {
		e.killTimer.Stop()
		e.killTimer = nil
	}
	state, msg := mesos.TASK_FINISHED, ""
	switch {
	case ws.Signaled():
		state = mesos.TASK_FAILED
		if e.killing {
			state = mesos.TASK_KILLED
		}
		msg = "Command terminated with signal " + signalName(ws.Signal())
	case ws.ExitStatus() == 0:
		msg = "Command exited with status 0"
	default:
		state = mesos.TASK_FAILED
		if e.killing {
			state = mesos.TASK_KILLED
		}
		msg = fmt.Sprintf("Command exited with status %d", ws.ExitStatus())
	}
	e.sendStatus(ctx, e.task.TaskID, state, msg)
	e.terminal, e.terminalAt = true, time.Now()
}

// signalName is strsignal's text: "Terminated", "Killed", ...
func signalName(s syscall.Signal) string {
	n := s.String()
	if n == "" {
		return n
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

// sendStatus sends a reliable update; it stays unacknowledged (and is
// replayed on re-subscribe) until the agent's ACKNOWLEDGED.
func (e *cmdExecutor) sendStatus(ctx context.Context, id mesos.TaskID, state mesos.TaskState, msg string) {
	execID := mesos.ExecutorID{Value: e.cfg.ExecutorID}
	st := mesos.TaskStatus{
		TaskID:     id,
		State:      state.Enum(),
		Source:     mesos.SOURCE_EXECUTOR.Enum(),
		ExecutorID: &execID,
		UUID:       wire.NewUUID(),
	}
	if msg != "" {
		st.Message = &msg
	}
	u := executor.Call_Update{Status: st}
	e.unacked[string(st.UUID)] = u
	if err := calls.SendNoData(ctx, e.sender, calls.NonStreaming(calls.Update(st))); err != nil {
		e.log.Info("status update not delivered; it will be replayed", "state", state, "err", err)
	}
}
