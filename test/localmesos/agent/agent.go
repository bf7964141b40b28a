package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/fetcher"
	"github.com/gleaner-project/gleaner/test/localmesos/link"
)

// Defaults of the Mesos agent flags the local agent honours.
const (
	DefaultExecutorRegistrationTimeout   = time.Minute
	DefaultExecutorShutdownGracePeriod   = 5 * time.Second
	DefaultRecoveryTimeout               = 15 * time.Minute
	DefaultExecutorReregistrationTimeout = 2 * time.Second
	DefaultStatusUpdateRetry             = 10 * time.Second
	DefaultStatusUpdateRetryMax          = 10 * time.Minute
)

// Config describes one local agent.
type Config struct {
	// Hostname the agent advertises; default "localhost".
	Hostname string
	// IP to listen on; default 127.0.0.1.
	IP string
	// Port to listen on; 0 picks a free port (kept across Restart).
	Port int
	// Resources and Attributes in the agent flag syntax (see ParseResources
	// and ParseAttributes). ParsedResources / ParsedAttributes, when not nil,
	// are used instead.
	Resources        string
	Attributes       string
	ParsedResources  []mesos.Resource
	ParsedAttributes []mesos.Attribute
	// WorkDir holds the sandboxes (<work_dir>/slaves/<agentID>/...).
	// Required unless Simulated.
	WorkDir string
	// Master is the master the agent registers with. Required.
	Master link.Master
	// Simulated runs no processes: every launched task reports TASK_RUNNING
	// and then ends after the time and with the exit code its labels script
	// (SimDurationLabel, SimExitCodeLabel).
	Simulated bool

	// ExecutorRegistrationTimeout (--executor_registration_timeout, 1 min).
	ExecutorRegistrationTimeout time.Duration
	// ExecutorShutdownGracePeriod (--executor_shutdown_grace_period, 5 s).
	ExecutorShutdownGracePeriod time.Duration
	// RecoveryTimeout (--recovery_timeout, 15 min) is given to checkpointing
	// executors as MESOS_RECOVERY_TIMEOUT.
	RecoveryTimeout time.Duration
	// ExecutorReregistrationTimeout (--executor_reregistration_timeout, 2 s)
	// is how long executors have to re-subscribe after Restart; it is also
	// given to checkpointing executors as MESOS_SUBSCRIPTION_BACKOFF_MAX.
	ExecutorReregistrationTimeout time.Duration
	// StatusUpdateRetry is the first resend interval of an unacknowledged
	// status update (10 s in Mesos); it doubles up to StatusUpdateRetryMax
	// (10 min).
	StatusUpdateRetry    time.Duration
	StatusUpdateRetryMax time.Duration

	// SwitchUser (--switch_user, on by default in Mesos; off here because
	// tests use made-up framework users): an agent running as root gives each
	// run directory to the executor's user (CommandInfo.user, else
	// FrameworkInfo.user), runs the executor, or the command executor's task,
	// as that user, and fails the launch when the host does not know it.
	// Either way the run directory is 0750 and its parents 0755.
	SwitchUser bool

	// FetcherCacheDir is where the fetcher caches URIs with cache=true;
	// default <work_dir>/fetch-cache.
	FetcherCacheDir string
	// Logger; default slog.Default().
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.Master == nil {
		return errors.New("agent config: Master is required")
	}
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.IP == "" {
		c.IP = "127.0.0.1"
	}
	if net.ParseIP(c.IP) == nil {
		return fmt.Errorf("agent config: IP %q is not an IP address", c.IP)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("agent config: port %d out of range", c.Port)
	}
	if c.WorkDir == "" && !c.Simulated {
		return errors.New("agent config: WorkDir is required (unless Simulated)")
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&c.ExecutorRegistrationTimeout, DefaultExecutorRegistrationTimeout)
	setDur(&c.ExecutorShutdownGracePeriod, DefaultExecutorShutdownGracePeriod)
	setDur(&c.RecoveryTimeout, DefaultRecoveryTimeout)
	setDur(&c.ExecutorReregistrationTimeout, DefaultExecutorReregistrationTimeout)
	setDur(&c.StatusUpdateRetry, DefaultStatusUpdateRetry)
	setDur(&c.StatusUpdateRetryMax, DefaultStatusUpdateRetryMax)
	if c.FetcherCacheDir == "" && c.WorkDir != "" {
		c.FetcherCacheDir = c.WorkDir + "/fetch-cache"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

type lifeState int

const (
	stateNew lifeState = iota
	stateUp
	stateDown
	stateClosed
)

// Agent is one local Mesos agent.
type Agent struct {
	cfg        Config
	log        *slog.Logger
	resources  []mesos.Resource
	attributes []mesos.Attribute
	fetch      *fetcher.Fetcher
	timers     *timers
	out        *outbox
	reapers    sync.WaitGroup
	ctx        context.Context // ends at Close: bounds fetches
	cancel     context.CancelFunc

	mu           sync.Mutex
	state        lifeState
	id           mesos.AgentID
	addr         string // ip:port, fixed by the first listen
	srv          *http.Server
	frameworks   map[string]*framework
	deferred     []func() // events that happened while the agent was down
	containerSeq uint64
	completed    []*task // newest last, bounded
	doneExecs    []mesos.ExecutorInfo
}

var _ link.Agent = (*Agent)(nil)

// maxCompleted bounds the completed tasks (and executors) an agent keeps
// for its state and for recognising late duplicate updates: a Mesos agent
// keeps --max_completed_executors_per_framework (150) completed executors,
// and a command task is one executor. Between maxCompleted and twice that
// are kept (the list is trimmed in batches).
const maxCompleted = 150

// New checks the configuration and builds an agent; Start brings it up.
func New(cfg Config) (*Agent, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	res := cfg.ParsedResources
	if res == nil {
		var err error
		if res, err = ParseResources(cfg.Resources); err != nil {
			return nil, fmt.Errorf("agent config: %w", err)
		}
	}
	attrs := cfg.ParsedAttributes
	if attrs == nil {
		var err error
		if attrs, err = ParseAttributes(cfg.Attributes); err != nil {
			return nil, fmt.Errorf("agent config: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Agent{
		ctx:        ctx,
		cancel:     cancel,
		cfg:        cfg,
		log:        cfg.Logger.With("agent", cfg.Hostname),
		resources:  res,
		attributes: attrs,
		fetch:      &fetcher.Fetcher{CacheDir: cfg.FetcherCacheDir},
		timers:     newTimers(),
		out:        newOutbox(),
		frameworks: map[string]*framework{},
		addr:       net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port)),
	}, nil
}

// Start listens, registers with the master, then serves the agent APIs.
func (a *Agent) Start(ctx context.Context) error { return a.bringUp(ctx, stateNew) }

// Restart brings a stopped (or killed) agent back on the same address with
// the same ID, as a Mesos agent recovering from its checkpoint: it
// re-registers with the master, waits ExecutorReregistrationTimeout for its
// executors to re-subscribe (killing those that do not, their tasks failing),
// resends unacknowledged status updates and handles executor exits that
// happened while it was down.
func (a *Agent) Restart(ctx context.Context) error { return a.bringUp(ctx, stateDown) }

// bringUp starts an agent that is new (from == stateNew) or stopped.
func (a *Agent) bringUp(ctx context.Context, from lifeState) error {
	a.mu.Lock()
	state := a.state
	a.mu.Unlock()
	if state != from {
		if from == stateNew {
			return errors.New("agent already started")
		}
		return errors.New("agent is not stopped")
	}
	recovering := from == stateDown
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", a.addr)
	if err != nil {
		return fmt.Errorf("agent listen on %s: %w", a.addr, err)
	}
	// Whatever the agent told the master before (AgentGone) goes first;
	// what it says from now on waits until the master has registered it.
	a.out.flush()
	a.out.hold()
	defer a.out.release()
	a.mu.Lock()
	a.addr = ln.Addr().String()
	info := a.agentInfoLocked()
	var tasks []mesos.Task
	var execs []link.ExecutorRef
	if recovering {
		tasks, execs = a.recoveredLocked()
		// Take the master's calls from now on: it may use the agent as
		// soon as it knows it is back.
		a.state = stateUp
	}
	a.mu.Unlock()

	id, err := a.cfg.Master.RegisterAgent(a, info, tasks, execs)
	if err != nil {
		ln.Close()
		a.mu.Lock()
		if recovering {
			a.state = stateDown
		}
		a.mu.Unlock()
		return fmt.Errorf("register agent %s with the master: %w", a.cfg.Hostname, err)
	}
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}

	a.mu.Lock()
	a.id = id
	a.srv = srv
	a.state = stateUp
	deferred := a.deferred
	a.deferred = nil
	if recovering {
		a.recoverLocked()
	}
	a.mu.Unlock()

	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("agent http server", "err", err)
		}
	}()
	for _, fn := range deferred {
		fn()
	}
	return nil
}

// recoveredLocked lists what the agent still runs, for re-registration.
func (a *Agent) recoveredLocked() ([]mesos.Task, []link.ExecutorRef) {
	var tasks []mesos.Task
	var execs []link.ExecutorRef
	for _, fw := range a.frameworks {
		for _, t := range fw.tasks {
			if !link.IsTerminal(t.state) {
				tasks = append(tasks, t.toTask(a.id))
			}
		}
		for _, ex := range fw.executors {
			if ex.state < execTerminated && !ex.command {
				execs = append(execs, link.ExecutorRef{FrameworkID: *fw.info.ID, Info: ex.info})
			}
		}
	}
	return tasks, execs
}

// recoverLocked starts the re-subscription window for executors and resends
// unacknowledged updates.
func (a *Agent) recoverLocked() {
	for _, fw := range a.frameworks {
		for _, ex := range fw.executors {
			if ex.kind != kindSim && ex.state != execRegistering && ex.state != execTerminated {
				ex.awaitingResubscribe = true
				ex := ex
				a.timers.after(a.cfg.ExecutorReregistrationTimeout, func() { a.reregistrationTimeout(ex) })
			}
		}
		for _, t := range fw.tasks {
			if len(t.pending) > 0 {
				t.backoff = a.cfg.StatusUpdateRetry
				a.forwardHeadLocked(t)
				a.armRetryLocked(t)
			}
		}
	}
}

func (a *Agent) reregistrationTimeout(ex *executorRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != stateUp || !ex.awaitingResubscribe || ex.state == execTerminated {
		return
	}
	a.log.Warn("executor did not re-subscribe in time; killing it", "framework_id", ex.fw.id(), "executor_id", ex.info.ExecutorID.Value)
	ex.reason = mesos.REASON_EXECUTOR_REREGISTRATION_TIMEOUT
	ex.message = "Executor did not re-register within " + FormatDuration(a.cfg.ExecutorReregistrationTimeout)
	a.killExecutorLocked(ex)
}

func (a *Agent) agentInfoLocked() mesos.AgentInfo {
	port := int32(0)
	if _, p, err := net.SplitHostPort(a.addr); err == nil {
		n, _ := strconv.Atoi(p)
		port = int32(n)
	}
	info := mesos.AgentInfo{
		Hostname:   a.cfg.Hostname,
		Port:       &port,
		Resources:  append([]mesos.Resource(nil), a.resources...),
		Attributes: append([]mesos.Attribute(nil), a.attributes...),
	}
	if a.id.Value != "" {
		id := a.id
		info.ID = &id
	}
	return info
}

// Endpoint is the agent's "ip:port" (MESOS_AGENT_ENDPOINT).
func (a *Agent) Endpoint() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addr
}

// ID is the agent ID the master assigned (empty before Start).
func (a *Agent) ID() mesos.AgentID {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// Info is the AgentInfo the agent registers with (ID set once registered).
func (a *Agent) Info() mesos.AgentInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.agentInfoLocked()
}

// Hostname is the hostname the agent advertises.
func (a *Agent) Hostname() string { return a.cfg.Hostname }

// Stop makes the agent process "die": its HTTP server closes, executor
// streams drop, executors keep running (as checkpointed executors would) and
// the master is told through AgentGone. Restart brings it back.
func (a *Agent) Stop() {
	a.mu.Lock()
	if a.state != stateUp {
		a.mu.Unlock()
		return
	}
	a.state = stateDown
	srv := a.srv
	a.srv = nil
	for _, fw := range a.frameworks {
		for _, ex := range fw.executors {
			if ex.conn != nil {
				ex.conn.close()
				ex.conn = nil
			}
		}
	}
	id := a.id
	a.mu.Unlock()
	_ = srv.Close()
	a.out.push(func() { a.cfg.Master.AgentGone(id) })
}

// KillHost is a dead host: Stop plus SIGKILL to every executor's process
// group (and every command executor's task). (Kill, with arguments, is the
// link.Agent call that kills one task.)
func (a *Agent) KillHost() {
	a.Stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.killAllLocked()
}

func (a *Agent) killAllLocked() {
	for _, fw := range a.frameworks {
		for _, ex := range fw.executors {
			if ex.kind == kindSim && !ex.killed {
				// A simulated executor dies with the host; its end is
				// handled when the agent comes back.
				ex := ex
				a.deferred = append(a.deferred, func() { a.executorExited(ex, int32(syscall.SIGKILL)) })
			}
			ex.killProcesses()
		}
	}
}

// Close kills the agent (if up) and every executor, waits for them to be
// reaped and stops the agent's goroutines. The agent cannot be used again.
func (a *Agent) Close() {
	a.Stop()
	a.mu.Lock()
	if a.state == stateClosed {
		a.mu.Unlock()
		return
	}
	a.state = stateClosed
	a.killAllLocked()
	a.mu.Unlock()
	a.cancel()
	a.reapers.Wait()
	a.timers.close()
	a.out.close()
}

// upOrDeferLocked reports whether the agent is up. While it is down, event
// (something that happened to an executor meanwhile) is kept for Restart;
// after Close it is dropped.
func (a *Agent) upOrDeferLocked(event func()) bool {
	switch a.state {
	case stateUp:
		return true
	case stateNew, stateDown:
		a.deferred = append(a.deferred, event)
	}
	return false
}

// ---- link.Agent ----

// Launch implements link.Agent.
func (a *Agent) Launch(fwInfo mesos.FrameworkInfo, ei *mesos.ExecutorInfo, tasks []mesos.TaskInfo, group bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if fwInfo.ID == nil || fwInfo.ID.Value == "" {
		a.log.Error("launch without a framework id; dropped")
		return
	}
	if a.state != stateUp {
		a.log.Warn("launch on a stopped agent; dropped", "framework_id", fwInfo.ID.Value, "tasks", len(tasks))
		return
	}
	fw := a.frameworkLocked(fwInfo)
	if a.cfg.Simulated {
		a.simLaunchLocked(fw, ei, tasks)
		return
	}
	if ei == nil {
		for i := range tasks {
			ex := a.newExecutorLocked(fw, commandExecutorInfo(fw, &tasks[i]), kindCommand)
			ex.command = true
			b := a.addTasksLocked(ex, tasks[i:i+1], false)
			ex.queued = append(ex.queued, b)
			a.startExecutorLocked(ex)
		}
		return
	}
	ex := fw.executors[ei.ExecutorID.Value]
	if ex != nil && ex.state >= execTerminating {
		b := a.addTasksLocked(ex, tasks, group)
		for _, t := range b.tasks {
			a.agentStatusLocked(t, lostOrDropped(fw), mesos.REASON_EXECUTOR_TERMINATED, "Executor is terminating")
		}
		return
	}
	fresh := ex == nil
	if fresh {
		info := *ei
		info.FrameworkID = fw.info.ID
		ex = a.newExecutorLocked(fw, info, kindCustom)
	}
	b := a.addTasksLocked(ex, tasks, group)
	if ex.state == execRunning && ex.conn != nil {
		a.deliverLocked(ex, b)
	} else {
		ex.queued = append(ex.queued, b)
	}
	if fresh {
		a.startExecutorLocked(ex)
	}
}

// Kill implements link.Agent.
func (a *Agent) Kill(frameworkID mesos.FrameworkID, taskID mesos.TaskID, policy *mesos.KillPolicy) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[frameworkID.Value]
	if fw == nil {
		a.log.Warn("kill for unknown framework", "framework_id", frameworkID.Value, "task_id", taskID.Value)
		return
	}
	t := fw.tasks[taskID.Value]
	if t == nil || link.IsTerminal(t.state) {
		a.log.Info("kill for unknown or finished task", "framework_id", frameworkID.Value, "task_id", taskID.Value)
		return
	}
	ex := t.ex
	if ex.kind == kindSim {
		a.simKillLocked(t)
		return
	}
	if !t.delivered {
		// Kill the whole batch (a task group dies together) before launch.
		for i, b := range ex.queued {
			if !b.has(t) {
				continue
			}
			ex.queued = append(ex.queued[:i:i], ex.queued[i+1:]...)
			for _, bt := range b.tasks {
				a.agentStatusLocked(bt, mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH, "Killed before delivery to the executor")
			}
			break
		}
		if ex.state == execRegistering && !ex.hasLiveTasks() {
			a.killExecutorLocked(ex)
		}
		return
	}
	if ex.conn == nil {
		ex.pendingKills = append(ex.pendingKills, killReq{taskID, policy})
		return
	}
	ex.conn.send(killEvent(taskID, policy))
}

// ShutdownExecutor implements link.Agent.
func (a *Agent) ShutdownExecutor(frameworkID mesos.FrameworkID, executorID mesos.ExecutorID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if fw := a.frameworks[frameworkID.Value]; fw != nil {
		if ex := fw.executors[executorID.Value]; ex != nil {
			a.shutdownExecutorLocked(ex)
		}
	}
}

// ShutdownFramework implements link.Agent: every executor of the framework
// is shut down and its pending status updates are dropped.
func (a *Agent) ShutdownFramework(frameworkID mesos.FrameworkID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[frameworkID.Value]
	if fw == nil {
		return
	}
	for _, ex := range fw.executors {
		a.shutdownExecutorLocked(ex)
	}
	fw.removed = true
	for _, t := range fw.tasks {
		t.pending = nil
		t.gen++
	}
}

// FrameworkMessage implements link.Agent.
func (a *Agent) FrameworkMessage(frameworkID mesos.FrameworkID, executorID mesos.ExecutorID, data []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if fw := a.frameworks[frameworkID.Value]; fw != nil {
		if ex := fw.executors[executorID.Value]; ex != nil && ex.conn != nil {
			ex.conn.send(messageEvent(data))
			return
		}
	}
	a.log.Info("framework message for an unknown or disconnected executor dropped", "framework_id", frameworkID.Value, "executor_id", executorID.Value)
}

// Acknowledge implements link.Agent.
func (a *Agent) Acknowledge(frameworkID mesos.FrameworkID, taskID mesos.TaskID, uuid []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fw := a.frameworks[frameworkID.Value]
	if fw == nil {
		return
	}
	if t := fw.tasks[taskID.Value]; t != nil {
		a.acknowledgeLocked(t, uuid)
	}
}

// UpdateFramework implements link.Agent.
func (a *Agent) UpdateFramework(info mesos.FrameworkInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if info.ID == nil {
		return
	}
	if fw := a.frameworks[info.ID.Value]; fw != nil {
		fw.info = info
	}
}

// ---- state ----

type framework struct {
	fwID      string // fixed; info may be replaced by UpdateFramework
	info      mesos.FrameworkInfo
	executors map[string]*executorRun
	tasks     map[string]*task
	removed   bool
}

func (f *framework) id() string { return f.fwID }

func (f *framework) hasCapability(c mesos.FrameworkInfo_Capability_Type) bool {
	for _, cap := range f.info.Capabilities {
		if cap.Type == c {
			return true
		}
	}
	return false
}

func lostOrDropped(fw *framework) mesos.TaskState {
	if fw.hasCapability(mesos.FrameworkInfo_Capability_PARTITION_AWARE) {
		return mesos.TASK_DROPPED
	}
	return mesos.TASK_LOST
}

func (a *Agent) frameworkLocked(info mesos.FrameworkInfo) *framework {
	fw := a.frameworks[info.ID.Value]
	if fw == nil {
		fw = &framework{fwID: info.ID.Value, info: info, executors: map[string]*executorRun{}, tasks: map[string]*task{}}
		a.frameworks[info.ID.Value] = fw
	} else if !fw.removed {
		fw.info = info
	}
	return fw
}

type execKind int

const (
	kindCustom  execKind = iota // a child process speaking the executor API
	kindCommand                 // the in-process command executor
	kindSim                     // simulated: no process, the agent plays the executor
)

type execState int

const (
	execRegistering execState = iota
	execRunning
	execTerminating
	execTerminated
)

type batch struct {
	tasks []*task
	group bool
}

func (b batch) has(t *task) bool {
	for _, x := range b.tasks {
		if x == t {
			return true
		}
	}
	return false
}

type killReq struct {
	taskID mesos.TaskID
	policy *mesos.KillPolicy
}

type executorRun struct {
	fw          *framework
	info        mesos.ExecutorInfo
	kind        execKind
	command     bool // built by the agent for a task without ExecutorInfo
	containerID mesos.ContainerID
	dir         string
	state       execState
	tasks       map[string]*task // tasks not yet completed
	queued      []batch          // not yet delivered
	conn        *execConn
	subscribed  bool // has subscribed at least once

	awaitingResubscribe bool
	pendingKills        []killReq

	// processes: the executor's group (custom) or the command's (command
	// executor), and how to stop an in-process command executor.
	pgid      int
	childPgid int
	cancel    context.CancelFunc
	killed    bool // the agent decided to kill it

	reason  mesos.TaskStatus_Reason // why the agent ended it, for task updates
	message string
	exited  bool
}

func (e *executorRun) hasLiveTasks() bool {
	for _, t := range e.tasks {
		if !link.IsTerminal(t.state) {
			return true
		}
	}
	return false
}

// killProcesses sends SIGKILL to the executor's process groups and stops
// an in-process command executor.
func (e *executorRun) killProcesses() {
	e.killed = true
	if e.pgid > 0 {
		_ = syscall.Kill(-e.pgid, syscall.SIGKILL)
	}
	if e.childPgid > 0 {
		_ = syscall.Kill(-e.childPgid, syscall.SIGKILL)
	}
	if e.cancel != nil {
		e.cancel()
	}
}

type task struct {
	info      mesos.TaskInfo
	ex        *executorRun
	delivered bool
	state     mesos.TaskState    // newest state known to the agent
	statuses  []mesos.TaskStatus // every status received, oldest first
	pending   []mesos.TaskStatus // unacknowledged updates; the head is in flight
	received  map[string]struct{}
	backoff   time.Duration
	gen       uint64 // invalidates scheduled retries
	retry     uint64 // the scheduled retry's timer, cancelled on acknowledgement

	// latest mirrors state for the outbox, which reads it when it delivers
	// an update, so a forward still queued carries any newer state.
	latest atomic.Int32
}

func (t *task) toTask(agentID mesos.AgentID) mesos.Task {
	state := t.state
	mt := mesos.Task{
		Name:        t.info.Name,
		TaskID:      t.info.TaskID,
		FrameworkID: *t.ex.fw.info.ID,
		AgentID:     agentID,
		State:       &state,
		Resources:   t.info.Resources,
		Statuses:    append([]mesos.TaskStatus(nil), t.statuses...),
		Labels:      t.info.Labels,
		Discovery:   t.info.Discovery,
		Container:   t.info.Container,
		HealthCheck: t.info.HealthCheck,
		KillPolicy:  t.info.KillPolicy,
	}
	if !t.ex.command {
		id := t.ex.info.ExecutorID
		mt.ExecutorID = &id
	}
	if len(t.pending) > 0 {
		s := t.pending[0].GetState()
		mt.StatusUpdateState = &s
		mt.StatusUpdateUUID = t.pending[0].UUID
	}
	return mt
}

func (a *Agent) newExecutorLocked(fw *framework, info mesos.ExecutorInfo, kind execKind) *executorRun {
	a.containerSeq++
	ex := &executorRun{
		fw:          fw,
		info:        info,
		kind:        kind,
		containerID: mesos.ContainerID{Value: a.id.Value + "-c" + strconv.FormatUint(a.containerSeq, 10)},
		tasks:       map[string]*task{},
	}
	fw.executors[info.ExecutorID.Value] = ex
	return ex
}

func (a *Agent) addTasksLocked(ex *executorRun, infos []mesos.TaskInfo, group bool) batch {
	b := batch{tasks: make([]*task, 0, len(infos)), group: group}
	for i := range infos {
		t := &task{info: infos[i], ex: ex, state: mesos.TASK_STAGING}
		ex.fw.tasks[t.info.TaskID.Value] = t
		ex.tasks[t.info.TaskID.Value] = t
		b.tasks = append(b.tasks, t)
	}
	return b
}

func commandExecutorInfo(fw *framework, t *mesos.TaskInfo) mesos.ExecutorInfo {
	shell := t.Command.GetShell()
	cmdText := t.Command.GetValue()
	if shell {
		cmdText = "sh -c '" + cmdText + "'"
	}
	value := "mesos-executor"
	source := t.TaskID.Value
	name := "Command Executor (Task: " + t.TaskID.Value + ") (Command: " + cmdText + ")"
	return mesos.ExecutorInfo{
		Type:        mesos.ExecutorInfo_DEFAULT,
		ExecutorID:  mesos.ExecutorID{Value: t.TaskID.Value},
		FrameworkID: fw.info.ID,
		Name:        &name,
		Source:      &source,
		Command:     &mesos.CommandInfo{Value: &value, Shell: new(bool)},
		Labels:      t.Labels,
	}
}

// ---- status updates ----

// agentStatusLocked makes a reliable update on the agent's own account
// (SOURCE_AGENT, with a uuid) and sends it down the normal path.
func (a *Agent) agentStatusLocked(t *task, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) {
	st := mesos.TaskStatus{
		TaskID:  t.info.TaskID,
		State:   state.Enum(),
		Source:  mesos.SOURCE_AGENT.Enum(),
		Reason:  reason.Enum(),
		Message: &msg,
		UUID:    newUUID(),
	}
	a.statusLocked(t, st)
}

// statusLocked takes a status update (from an executor or the agent) into
// the task's reliable stream: it is forwarded to the master at once when no
// other update of the task is in flight, and kept until acknowledged.
func (a *Agent) statusLocked(t *task, st mesos.TaskStatus) {
	if t.ex.fw.removed {
		return
	}
	id := a.id
	st.AgentID = &id
	eid := t.ex.info.ExecutorID
	st.ExecutorID = &eid
	if st.Timestamp == nil {
		ts := float64(time.Now().UnixNano()) / 1e9
		st.Timestamp = &ts
	}
	if t.ex.kind != kindSim {
		if t.received == nil {
			t.received = map[string]struct{}{}
		}
		t.received[string(st.UUID)] = struct{}{}
		if st.ContainerStatus == nil {
			cid := t.ex.containerID
			st.ContainerStatus = &mesos.ContainerStatus{ContainerID: &cid}
		}
	}
	wasTerminal := link.IsTerminal(t.state)
	t.state = st.GetState()
	t.latest.Store(int32(t.state))
	t.statuses = append(t.statuses, st)
	t.pending = append(t.pending, st)
	switch {
	case len(t.pending) == 1:
		t.backoff = a.cfg.StatusUpdateRetry
		if a.state == stateUp {
			a.forwardHeadLocked(t)
		}
		a.armRetryLocked(t)
	case link.IsTerminal(t.state) && !wasTerminal && a.state == stateUp:
		// An earlier update still waits for its acknowledgement: let the
		// master free the resources now if it can take the hint (a queued
		// forward carries the new state as `latest` anyway).
		if n, ok := a.cfg.Master.(link.TaskStateNotifier); ok {
			agentID, fwID, taskID, state := a.id, *t.ex.fw.info.ID, t.info.TaskID, t.state
			a.out.push(func() { n.TaskTerminated(agentID, fwID, taskID, state) })
		}
	}
}

func (a *Agent) forwardHeadLocked(t *task) {
	st := t.pending[0]
	agentID, fwID := a.id, *t.ex.fw.info.ID
	a.out.push(func() {
		a.cfg.Master.StatusUpdate(agentID, fwID, st, mesos.TaskState(t.latest.Load()))
	})
}

func (a *Agent) armRetryLocked(t *task) {
	t.gen++
	gen := t.gen
	a.timers.cancel(t.retry)
	t.retry = a.timers.after(t.backoff, func() { a.retryUpdate(t, gen) })
}

func (a *Agent) retryUpdate(t *task, gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.gen != gen || len(t.pending) == 0 || a.state != stateUp {
		return // acknowledged meanwhile, or resent on Restart
	}
	t.backoff *= 2
	if t.backoff > a.cfg.StatusUpdateRetryMax {
		t.backoff = a.cfg.StatusUpdateRetryMax
	}
	a.forwardHeadLocked(t)
	a.armRetryLocked(t)
}

func (a *Agent) acknowledgeLocked(t *task, uuid []byte) {
	if len(t.pending) == 0 || string(t.pending[0].UUID) != string(uuid) {
		a.log.Info("unexpected status update acknowledgement", "task_id", t.info.TaskID.Value)
		return
	}
	t.pending[0] = mesos.TaskStatus{}
	t.pending = t.pending[1:]
	t.gen++
	a.timers.cancel(t.retry) // it would only find the update acknowledged, and holds t meanwhile
	if len(t.pending) > 0 {
		t.backoff = a.cfg.StatusUpdateRetry
		a.forwardHeadLocked(t)
		a.armRetryLocked(t)
		return
	}
	t.pending = nil
	if link.IsTerminal(t.state) {
		a.completeTaskLocked(t)
	}
}

// completeTaskLocked forgets a terminal, fully acknowledged task.
func (a *Agent) completeTaskLocked(t *task) {
	fw := t.ex.fw
	if fw.tasks[t.info.TaskID.Value] == t {
		delete(fw.tasks, t.info.TaskID.Value)
	}
	delete(t.ex.tasks, t.info.TaskID.Value)
	t.received = nil
	a.completed = append(a.completed, t)
	if len(a.completed) > 2*maxCompleted {
		a.completed = append(a.completed[:0:0], a.completed[len(a.completed)-maxCompleted:]...)
	}
}

// ---- executor lifecycle ----

// shutdownExecutorLocked sends SHUTDOWN and kills the executor after its
// grace period.
func (a *Agent) shutdownExecutorLocked(ex *executorRun) {
	if ex.state >= execTerminating {
		return
	}
	if ex.kind == kindSim {
		a.simShutdownLocked(ex)
		return
	}
	if ex.conn == nil {
		a.killExecutorLocked(ex)
		return
	}
	ex.state = execTerminating
	ex.conn.send(shutdownEvent())
	a.timers.after(a.gracePeriod(ex), func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if !ex.exited {
			a.killExecutorLocked(ex)
		}
	})
}

func (a *Agent) gracePeriod(ex *executorRun) time.Duration {
	if g := ex.info.ShutdownGracePeriod; g != nil && g.Nanoseconds > 0 {
		return time.Duration(g.Nanoseconds)
	}
	return a.cfg.ExecutorShutdownGracePeriod
}

// killExecutorLocked destroys the executor's container; its exit is then
// handled by executorExited.
func (a *Agent) killExecutorLocked(ex *executorRun) {
	if ex.exited {
		return
	}
	if ex.state < execTerminating {
		ex.state = execTerminating
	}
	ex.killProcesses()
}

// executorExited handles the end of an executor (process exit or command
// executor return): its live tasks fail, the master learns of it.
func (a *Agent) executorExited(ex *executorRun, waitStatus int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.upOrDeferLocked(func() { a.executorExited(ex, waitStatus) }) {
		return
	}
	if ex.exited {
		return
	}
	ex.exited = true
	ex.state = execTerminated
	if ex.conn != nil {
		ex.conn.close()
		ex.conn = nil
	}
	reason, msg := ex.reason, ex.message
	if reason == 0 && msg == "" {
		reason, msg = mesos.REASON_EXECUTOR_TERMINATED, "Executor terminated"
	}
	for _, t := range sortedTasks(ex.tasks) {
		if !link.IsTerminal(t.state) {
			a.agentStatusLocked(t, mesos.TASK_FAILED, reason, msg)
		}
	}
	ex.queued = nil
	if ex.fw.removed {
		// No update of a torn-down framework is forwarded: forget its tasks.
		for _, t := range sortedTasks(ex.tasks) {
			a.completeTaskLocked(t)
		}
	}
	a.doneExecs = append(a.doneExecs, ex.info)
	if len(a.doneExecs) > 2*maxCompleted {
		a.doneExecs = append(a.doneExecs[:0:0], a.doneExecs[len(a.doneExecs)-maxCompleted:]...)
	}
	if ex.fw.executors[ex.info.ExecutorID.Value] == ex {
		delete(ex.fw.executors, ex.info.ExecutorID.Value)
	}
	agentID, fwID, execID, custom := a.id, *ex.fw.info.ID, ex.info.ExecutorID, !ex.command
	a.out.push(func() { a.cfg.Master.ExecutorTerminated(agentID, fwID, execID, custom, waitStatus) })
}

// startExecutorLocked creates the sandbox, then (off the lock) fetches the
// URIs and starts the executor; it must subscribe within the registration
// timeout.
func (a *Agent) startExecutorLocked(ex *executorRun) {
	ex.dir = a.sandboxDir(ex)
	a.timers.after(a.cfg.ExecutorRegistrationTimeout, func() { a.registrationTimeout(ex) })
	env := a.executorEnv(ex)
	a.reapers.Add(1)
	go func() {
		defer a.reapers.Done()
		if ex.kind == kindCommand {
			a.runCommandExecutor(ex, env)
		} else {
			a.runCustomExecutor(ex, env)
		}
	}()
}

func (a *Agent) registrationTimeout(ex *executorRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ex.state != execRegistering || ex.exited {
		return
	}
	// An executor cannot subscribe to a dead agent: give it the
	// re-registration window once the agent is back.
	if !a.upOrDeferLocked(func() {
		a.timers.after(a.cfg.ExecutorReregistrationTimeout, func() { a.registrationTimeout(ex) })
	}) {
		return
	}
	a.log.Warn("executor did not register in time; killing it", "framework_id", ex.fw.id(), "executor_id", ex.info.ExecutorID.Value)
	ex.reason = mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT
	ex.message = "Executor did not register within " + FormatDuration(a.cfg.ExecutorRegistrationTimeout)
	a.killExecutorLocked(ex)
}

func (a *Agent) sandboxDir(ex *executorRun) string {
	return fmt.Sprintf("%s/slaves/%s/frameworks/%s/executors/%s/runs/%s",
		a.cfg.WorkDir, a.id.Value, ex.fw.id(), ex.info.ExecutorID.Value, ex.containerID.Value)
}

// prepareSandbox makes the sandbox as a Mesos agent does (see
// createRunDirectory) and fetches uris into it; it returns the user the
// executor runs as (nil: the agent's own).
func (a *Agent) prepareSandbox(ex *executorRun, uris []mesos.CommandInfo_URI) (*hostUser, error) {
	owner, err := a.switchedUser(ex)
	if err != nil {
		return nil, err
	}
	if err := createRunDirectory(ex.dir, owner); err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.ExecutorRegistrationTimeout)
	defer cancel()
	if err := a.fetch.Fetch(ctx, uris, ex.dir); err != nil {
		return nil, err
	}
	return owner, chownFetched(ex.dir, owner)
}

// launchFailedLocked ends an executor whose container could not start.
func (a *Agent) launchFailed(ex *executorRun, err error) {
	a.log.Error("executor launch failed", "framework_id", ex.fw.id(), "executor_id", ex.info.ExecutorID.Value, "err", err)
	a.mu.Lock()
	if ex.reason == 0 {
		ex.reason = mesos.REASON_CONTAINER_LAUNCH_FAILED
		ex.message = "Failed to launch container: " + err.Error()
	}
	a.mu.Unlock()
	a.executorExited(ex, 127<<8)
}

func sortedTasks(m map[string]*task) []*task {
	ts := make([]*task, 0, len(m))
	for _, t := range m {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(x, y *task) int { return strings.Compare(x.info.TaskID.Value, y.info.TaskID.Value) })
	return ts
}
