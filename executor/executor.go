package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"

	"github.com/gleaner-project/gleaner/proto/recordio"
	"github.com/gleaner-project/gleaner/rootfs"
)

// Executor runs the tasks an agent launches on it.
type Executor struct {
	cfg   Config
	log   *slog.Logger
	cache *rootfs.Cache

	subscriber calls.Sender
	sender     calls.Sender

	mu        sync.Mutex
	state     *State
	tasks     map[string]*task
	framework *mesos.FrameworkInfo
	killing   bool // framework has TASK_KILLING_STATE
	shutdown  bool
	changed   chan struct{} // pinged when state changes (acks, task ends)

	sendQ     chan executor.Call_Update
	wg        sync.WaitGroup
	cancelRun context.CancelFunc

	launches  int // tasks launched so far (the idle timer's generation)
	idleTimer *time.Timer
	idleExit  bool

	staleCgroupSweep sync.Once // cgroupsweep.go
}

// New prepares an executor; Run drives it.
func New(cfg Config) (*Executor, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	cacheDir, isDefault, err := bundleCacheDir(cfg.BundleCache, os.Getenv(BundleCacheEnv), cfg.Mesos.Directory)
	if err != nil {
		return nil, err
	}
	cache, err := openBundleCache(cacheDir, isDefault)
	if err != nil {
		return nil, err
	}
	cache.Limits, cache.CapBytes, cache.Fetch = cfg.BundleLimits, cfg.BundleCacheBytes, cfg.BundleFetch
	if cfg.TaskUIDs.Enabled() {
		read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
		if c := rangeConflicts(cfg.TaskUIDs, read(hostIDFiles.passwd), read(hostIDFiles.subuid), read(hostIDFiles.subgid)); len(c) > 0 {
			cfg.Logger.Warn("--task-uid-range overlaps ids the host already gives out: tasks of some jobs may share them; choose another range",
				"range", cfg.TaskUIDs.String(), "conflicts", c)
		}
	}
	u := url.URL{Scheme: "http", Host: cfg.Mesos.AgentEndpoint, Path: "/api/v1/executor"}
	cli := httpcli.New(
		httpcli.Endpoint(u.String()),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(cfg.HTTPTimeout))),
	)
	// SUBSCRIBE gets its own client: an attempt that cannot connect or gets
	// no answer is abandoned well within the agent's re-subscription window
	// (the stream itself, once answered, has no deadline).
	// Its event stream is read with a bounded RecordIO reader
	// (maxAgentEventBytes) instead of mesos-go's 4 MiB one.
	subCli := httpcli.New(append([]httpcli.Opt{
		httpcli.Endpoint(u.String()),
		httpcli.Do(httpcli.With(httpcli.Timeout(subscribeAttemptTimeout(cfg.Mesos.SubscriptionBackoffMax)))),
	}, recordio.ClientOptions(codecs.ByMediaType[codecs.MediaTypeProtobuf], maxAgentEventBytes, "")...)...)
	opts := executor.CallOptions{calls.Framework(cfg.Mesos.FrameworkID), calls.Executor(cfg.Mesos.ExecutorID)}
	e := &Executor{
		cfg:        cfg,
		log:        cfg.Logger.With("executor", cfg.Mesos.ExecutorID, "framework", cfg.Mesos.FrameworkID),
		cache:      cache,
		subscriber: calls.SenderWith(httpexec.NewSender(subCli.Send, httpcli.Close(true)), opts...),
		sender:     calls.SenderWith(httpexec.NewSender(cli.Send), opts...),
		state:      NewState(),
		tasks:      map[string]*task{},
		changed:    make(chan struct{}, 1),
		sendQ:      make(chan executor.Call_Update, 1024),
	}
	return e, nil
}

// maxAgentEventBytes bounds one event from the agent. The largest are
// LAUNCH, whose TaskInfo carries one task's payload (from a job spec the
// scheduler's API takes up to 4 MiB of), and SUBSCRIBED, which carries the
// agent's info with its attributes; 16 MiB holds both with room to spare.
// An event over it ends the subscription with an error naming the limit;
// the executor resubscribes as after any broken stream.
const maxAgentEventBytes = 16 << 20

// BundleCacheEnv names the host's bundle cache when --bundle-cache is not
// given (agents pass their environment to executors, so setting it for the
// agent shares one cache among all executors of a host).
const BundleCacheEnv = "GLEANER_BUNDLE_CACHE"

// errShutdown ends the event loop after SHUTDOWN once every task is done.
var errShutdown = errors.New("executor shut down")

// Run subscribes to the agent and handles events until SHUTDOWN (and every
// terminal update is acknowledged), until the agent is gone for good
// (checkpointing: MESOS_RECOVERY_TIMEOUT; otherwise at once), or until ctx ends.
func (e *Executor) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	e.cancelRun = cancel
	e.mu.Unlock()
	go e.sendLoop(ctx)
	defer e.wg.Wait()
	var disconnectedAt time.Time
	attempt := 0
	for {
		connected, err := e.subscribeOnce(ctx)
		if connected {
			attempt = 0
		}
		if errors.Is(err, errShutdown) {
			e.log.Info("shut down")
			return nil
		}
		if ctx.Err() != nil {
			e.killAll("executor stopping", false)
			e.mu.Lock()
			shut := e.shutdown || e.idleExit
			e.mu.Unlock()
			if shut {
				return nil
			}
			return ctx.Err()
		}
		if connected || disconnectedAt.IsZero() {
			disconnectedAt = time.Now()
		}
		if attempt == 0 {
			e.log.Warn("disconnected from agent", "err", err)
		}
		if !e.cfg.Mesos.Checkpoint {
			e.killAll("agent connection lost and the framework does not checkpoint", true)
			return fmt.Errorf("agent connection lost (no checkpointing): %w", err)
		}
		if time.Since(disconnectedAt) > e.cfg.Mesos.RecoveryTimeout {
			e.killAll("agent did not come back within the recovery timeout", true)
			return fmt.Errorf("agent not back within %v: %w", e.cfg.Mesos.RecoveryTimeout, err)
		}
		select {
		case <-time.After(resubscribeDelay(attempt, e.cfg.Mesos.SubscriptionBackoffMax)):
		case <-ctx.Done():
		}
		attempt++
	}
}

// Re-subscription pacing. A restarted agent gives its executors
// MESOS_SUBSCRIPTION_BACKOFF_MAX (its --executor_reregistration_timeout,
// 2 s by default) to re-subscribe, counted from when it is back, and kills
// those that did not. An attempt against an agent that is down fails at
// once (connection refused), so retrying often costs nothing, while a long
// wait between attempts, or an attempt stuck on a connection nobody
// answers, eats into that window; on a loaded host the remaining slack is
// what absorbs scheduling delays.
const (
	minResubscribeDelay = 20 * time.Millisecond
	minSubscribeTimeout = 500 * time.Millisecond
)

// resubscribeDelay is the wait before re-subscription attempt n (0-based):
// doubling from minResubscribeDelay up to a tenth of the agent's window
// (200 ms by default), so the executor is back at most a tenth of the
// window after the agent plus one attempt.
func resubscribeDelay(attempt int, backoffMax time.Duration) time.Duration {
	ceiling := max(backoffMax/10, minResubscribeDelay)
	d := minResubscribeDelay
	for i := 0; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// subscribeAttemptTimeout bounds connecting and waiting for the answer to
// one SUBSCRIBE: half the agent's window (at least 500 ms, 5 s when the
// agent gives no window, i.e. without checkpointing), so an attempt stuck
// on a dead connection leaves time for the next one.
func subscribeAttemptTimeout(backoffMax time.Duration) time.Duration {
	if backoffMax <= 0 {
		return 5 * time.Second
	}
	return max(backoffMax/2, minSubscribeTimeout)
}

// subscribeOnce sends SUBSCRIBE with what is still unacknowledged and
// handles the event stream until it breaks.
func (e *Executor) subscribeOnce(ctx context.Context) (bool, error) {
	e.mu.Lock()
	tasks, updates := e.state.Unacknowledged()
	e.mu.Unlock()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := e.subscriber.Send(sctx, calls.NonStreaming(calls.Subscribe(tasks, updates)))
	if resp != nil {
		defer resp.Close()
	}
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	e.log.Info("subscribed", "unacknowledged_tasks", len(tasks), "unacknowledged_updates", len(updates))
	// Stop reading when shutdown has completed.
	go func() {
		for {
			select {
			case <-sctx.Done():
				return
			case <-e.changed:
				if e.doneShuttingDown() {
					cancel()
					return
				}
			}
		}
	}()
	for {
		var ev executor.Event
		if err := resp.Decode(&ev); err != nil {
			if e.doneShuttingDown() {
				return true, errShutdown
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return true, err
		}
		if err := e.handle(sctx, &ev); err != nil {
			return true, err
		}
	}
}

func (e *Executor) doneShuttingDown() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.shutdown && e.state.Idle() && len(e.tasks) == 0
}

func (e *Executor) ping() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
	e.armIdle()
}

// armIdle starts the idle timer once every launched task has ended and every
// update was acknowledged: like Mesos' default executor, the executor leaves
// when it has nothing left to do (after IdleTimeout, unless a task arrives).
func (e *Executor) armIdle() {
	if e.cfg.IdleTimeout <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.launches == 0 || e.idleTimer != nil || len(e.tasks) > 0 || !e.state.Idle() || e.shutdown {
		return
	}
	gen := e.launches
	e.idleTimer = time.AfterFunc(e.cfg.IdleTimeout, func() {
		e.mu.Lock()
		e.idleTimer = nil
		idle := gen == e.launches && len(e.tasks) == 0 && e.state.Idle() && !e.shutdown
		if idle {
			e.idleExit = true
		}
		quit := e.cancelRun
		e.mu.Unlock()
		if idle && quit != nil {
			e.log.Info("idle: every task ended and was acknowledged; exiting", "idle_timeout", e.cfg.IdleTimeout)
			quit()
			return
		}
		e.armIdle()
	})
}

func (e *Executor) handle(ctx context.Context, ev *executor.Event) error {
	switch ev.GetType() {
	case executor.Event_SUBSCRIBED:
		s := ev.GetSubscribed()
		e.mu.Lock()
		fi := s.GetFrameworkInfo()
		e.framework = &fi
		e.killing = false
		for _, c := range fi.GetCapabilities() {
			if c.GetType() == mesos.FrameworkInfo_Capability_TASK_KILLING_STATE {
				e.killing = true
			}
		}
		e.mu.Unlock()
	case executor.Event_LAUNCH:
		e.launch(ev.GetLaunch().Task)
	case executor.Event_LAUNCH_GROUP:
		for _, t := range ev.GetLaunchGroup().TaskGroup.Tasks {
			e.launch(t)
		}
	case executor.Event_KILL:
		k := ev.GetKill()
		e.kill(k.TaskID.Value, k.KillPolicy)
	case executor.Event_ACKNOWLEDGED:
		a := ev.GetAcknowledged()
		e.mu.Lock()
		e.state.Ack(a.TaskID.Value, a.UUID)
		e.mu.Unlock()
		e.ping()
	case executor.Event_SHUTDOWN:
		e.log.Info("SHUTDOWN received")
		e.mu.Lock()
		e.shutdown = true
		e.mu.Unlock()
		e.killAll("executor shutdown", true)
		grace := e.cfg.Mesos.ExecutorShutdownGracePeriod
		e.mu.Lock()
		quit := e.cancelRun
		e.mu.Unlock()
		// Leave before the agent's own deadline even if acks are missing.
		time.AfterFunc(grace*9/10, func() {
			if !e.doneShuttingDown() {
				e.log.Warn("shutdown grace period ending; exiting with updates unacknowledged")
			}
			quit()
		})
		e.ping()
	case executor.Event_MESSAGE:
		e.log.Info("message from the scheduler", "bytes", len(ev.GetMessage().Data))
	case executor.Event_HEARTBEAT:
	case executor.Event_ERROR:
		return fmt.Errorf("agent error: %s", ev.GetError().Message)
	default:
		e.log.Warn("ignoring unknown event", "type", ev.GetType().String())
	}
	return nil
}

// update records a status update and queues it for sending.
func (e *Executor) update(st mesos.TaskStatus) {
	st.Source = mesos.SOURCE_EXECUTOR.Enum()
	st.ExecutorID = &mesos.ExecutorID{Value: e.cfg.Mesos.ExecutorID}
	id := uuid.New() // random, version 4
	st.UUID = id[:]
	now := float64(time.Now().UnixNano()) / 1e9
	st.Timestamp = &now
	e.mu.Lock()
	u, err := e.state.Record(st)
	e.mu.Unlock()
	if err != nil {
		e.log.Error("status update dropped", "task", st.TaskID.Value, "err", err)
		return
	}
	e.sendQ <- u
	e.ping()
}

// sendLoop posts updates in order; failures are left in the state and go
// out again with the next SUBSCRIBE.
func (e *Executor) sendLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-e.sendQ:
			e.mu.Lock()
			pending := false
			_, ups := e.state.Unacknowledged()
			for _, p := range ups {
				if string(p.Status.UUID) == string(u.Status.UUID) {
					pending = true
				}
			}
			e.mu.Unlock()
			if !pending {
				continue
			}
			var err error
			for attempt := 0; attempt < 3; attempt++ {
				err = calls.SendNoData(ctx, e.sender, calls.NonStreaming(calls.Update(u.Status)))
				if err == nil {
					break
				}
				select {
				case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				e.log.Warn("status update not delivered; kept for re-subscribe", "task", u.Status.TaskID.Value,
					"state", u.Status.GetState().String(), "err", err)
			}
		}
	}
}
