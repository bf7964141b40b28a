package framework

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/proto/recordio"
	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/isolation"
	"github.com/gleaner-project/gleaner/scheduler/queue"
	"github.com/gleaner-project/gleaner/scheduler/store"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/backoff"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/callrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/eventrules"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Config configures the framework. Zero values get the defaults noted.
type Config struct {
	Masters         []string // master base URLs, e.g. http://127.0.0.1:5050
	Name            string   // default "gleaner"
	User            string   // FrameworkInfo.user; default root with the Gleaner executor, nobody with the command executor (isolation.Policy.FrameworkUser)
	Roles           []string // default ["*"]... Gleaner uses --role, default "batch"
	Principal       string
	Secret          string
	FailoverTimeout time.Duration // default one week
	Hostname        string
	WebUIURL        string
	// ExecutorPath or ExecutorURI switch launches from Mesos' command
	// executor to `gleaner executor`.
	ExecutorPath string
	ExecutorURI  string
	// AllowRootTasks passes a job's request to run as root (user: root) to
	// the executor; without it such jobs are refused at submit and never
	// launched as root.
	AllowRootTasks bool
	// ArtifactStore, if set, is where tasks' artifacts are kept (with its
	// credentials), sent to the executor in every payload with artifacts.
	ArtifactStore *gleanerpb.ArtifactStore
	// Queue, if set, serves work-queue tasks (job.TaskSpec.WorkQueue):
	// their instances get a token and QueueURL/v1/jobs/<id>/queue in
	// their env, released when they end.
	Queue    *queue.Queue
	QueueURL string
	// Fence guards the term's queue claims (the leader's key, as the
	// fenced store's writes): a deposed leader registers none.
	Fence []clientv3.Cmp
	// RefuseSeconds filters declined offers while work is pending (default
	// 5 s); with nothing pending offers are refused for IdleRefuse (default
	// 120 s) and the framework SUPPRESSes.
	RefuseSeconds time.Duration
	IdleRefuse    time.Duration
	// ReconcileInterval re-runs explicit reconciliation of active attempts
	// (default 60 s); ImplicitReconcileInterval runs implicit reconciliation
	// (default 15 min).
	ReconcileInterval         time.Duration
	ImplicitReconcileInterval time.Duration
	// ReconcileMinBackoff and ReconcileMaxBackoff bound the truncated
	// exponential backoff between rounds of one explicit reconciliation,
	// which asks again for the tasks not heard from (defaults 2 s, 2 min).
	ReconcileMinBackoff, ReconcileMaxBackoff time.Duration
	// RunningRecordDelay is how long a RUNNING update's record waits to be
	// superseded by the task's end before it is stored (default
	// DefaultRunningRecordDelay; runningrecords.go).
	RunningRecordDelay time.Duration
	// MaxUpdateBacklog bounds the status updates waiting for the update
	// loop that offer cycles launch more work on (default
	// DefaultMaxUpdateBacklog; backlog.go).
	MaxUpdateBacklog int
	// KillGracePeriod goes into every TaskInfo's kill_policy: the time a
	// killed task gets between SIGTERM and SIGKILL (default 3 s, as the
	// Gleaner executor's; negative: no kill_policy).
	KillGracePeriod time.Duration
	// HeartbeatTimeout drops a silent subscription (default 5 heartbeat
	// intervals, as announced in SUBSCRIBED).
	HeartbeatTimeout time.Duration
	// Backoff between subscription attempts (default 1 s .. 15 s).
	MinBackoff, MaxBackoff time.Duration
	// RequestTimeout bounds ordinary calls (default 20 s).
	RequestTimeout time.Duration
	// MaxEventBytes bounds one event read from the master's stream
	// (default DefaultMaxEventBytes; scheduler flag --max-event-bytes).
	MaxEventBytes int
	Logger        *slog.Logger
	// OfferCycle, if set, is called with the time from OFFERS received to
	// the last ACCEPT/DECLINE sent and the pending count (benchmarks).
	OfferCycle func(d time.Duration, pending int)
	// OfferAccepted, if set, gets the time from OFFERS received to each
	// ACCEPT sent and the pending count when the offers arrived (benchmarks).
	OfferAccepted func(d time.Duration, pending int)

	// Attrs overlays etcd attributes and monitor heartbeats on offers and
	// moves instances whose constraints an edit broke (nil: Mesos
	// attributes only, monitors ignored). Agents records each agent's last
	// offer for GET /v1/agents and for those moves.
	Attrs  *attrs.Watcher
	Agents *Agents
	// RequireMonitor: no new work on a host whose monitor is silent. A host
	// with a live monitor gets batch work only in the role's reservation.
	RequireMonitor bool
	// HoldHost, if set, says a host gets no new work for now (its monitor
	// is reclaiming resources: scheduler/evict), so an evicted instance is
	// not launched again where it was just killed.
	HoldHost func(hostname string) bool
	// MoveRate and MoveBurst bound constraint moves (default 1/s, burst 5).
	MoveRate  float64
	MoveBurst int
	// PreemptAfter is how long higher-priority work must stay blocked
	// before lower-priority instances are preempted (default 5 s).
	PreemptAfter time.Duration
	// ForeverRecheck: while all pending work is judged never to fit (and
	// offers are suppressed), it is judged again this often (default 1
	// min), to see agents that joined meanwhile.
	ForeverRecheck time.Duration
	// AgentsPoll: how often the agents table is refreshed from the leading
	// master's GET_AGENTS (default 30 s; negative: never), so hosts that
	// make no offers (full) are known too.
	AgentsPoll time.Duration
}

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name = "gleaner"
	}
	if c.User == "" {
		c.User, _ = c.Isolation().FrameworkUser("")
	}
	if len(c.Roles) == 0 {
		c.Roles = []string{"batch"}
	}
	if c.FailoverTimeout == 0 {
		c.FailoverTimeout = 7 * 24 * time.Hour
	}
	if c.RefuseSeconds == 0 {
		c.RefuseSeconds = 5 * time.Second
	}
	if c.IdleRefuse == 0 {
		c.IdleRefuse = 120 * time.Second
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = 60 * time.Second
	}
	if c.KillGracePeriod == 0 {
		c.KillGracePeriod = 3 * time.Second
	}
	if c.RunningRecordDelay <= 0 {
		c.RunningRecordDelay = DefaultRunningRecordDelay
	}
	if c.MaxUpdateBacklog <= 0 {
		c.MaxUpdateBacklog = DefaultMaxUpdateBacklog
	}
	if c.ReconcileMinBackoff <= 0 {
		c.ReconcileMinBackoff = DefaultReconcileMinBackoff
	}
	if c.ReconcileMaxBackoff < c.ReconcileMinBackoff {
		c.ReconcileMaxBackoff = max(DefaultReconcileMaxBackoff, c.ReconcileMinBackoff)
	}
	if c.ImplicitReconcileInterval == 0 {
		c.ImplicitReconcileInterval = 15 * time.Minute
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 15 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 20 * time.Second
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.placementDefaults()
}

// Isolation is the policy this configuration implies: with neither
// ExecutorPath nor ExecutorURI, tasks go to Mesos' command executor.
func (c *Config) Isolation() isolation.Policy {
	return isolation.Policy{CommandExecutor: c.ExecutorPath == "" && c.ExecutorURI == "", AllowRootTasks: c.AllowRootTasks,
		ArtifactStore: c.ArtifactStore != nil}
}

// FrameworkInfo builds the FrameworkInfo Gleaner subscribes with.
func (c *Config) FrameworkInfo(id string) *mesos.FrameworkInfo {
	fi := &mesos.FrameworkInfo{
		User:            c.User,
		Name:            c.Name,
		Roles:           c.Roles,
		Checkpoint:      proto(true),
		FailoverTimeout: proto(c.FailoverTimeout.Seconds()),
		Capabilities: []mesos.FrameworkInfo_Capability{
			{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE},
			{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE},
			{Type: mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT},
			{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE},
			{Type: mesos.FrameworkInfo_Capability_GPU_RESOURCES},
		},
	}
	if id != "" {
		fi.ID = &mesos.FrameworkID{Value: id}
	}
	if c.Principal != "" {
		fi.Principal = proto(c.Principal)
	}
	if c.Hostname != "" {
		fi.Hostname = proto(c.Hostname)
	}
	if c.WebUIURL != "" {
		fi.WebUiURL = proto(c.WebUIURL)
	}
	return fi
}

func proto[T any](v T) *T { return &v }

// Framework runs one leadership term's Mesos subscription.
type Framework struct {
	awaited awaited // unanswered KILLs, explicit reconciliation (reconcile.go)
	cfg     Config
	store   store.Store
	engine  *engine.Engine
	log     *slog.Logger

	fwID      atomic.Value // string
	caller    calls.Caller
	connected atomic.Bool
	subs      atomic.Int64
	work      atomic.Uint64 // launches sent, status updates taken, RUNNING records stored (Work)
	revive    chan struct{}
	updates   *updateQueue
	acks      ackLedger       // used by the update loop only
	deferred  deferredRunning // used by the update loop only (runningrecords.go)
	fast      *fastPath
	act       actuator // what the offer and update paths do on Mesos

	mu         sync.Mutex
	suppressed bool
	lastEvent  time.Time
	hbTimeout  time.Duration
	cancelSub  context.CancelFunc
	masterIdx  int
	inner      atomic.Pointer[callerBox]
	master     atomic.Value // string: the master last subscribed to

	// expanded caches tasks with loops or placeholders (taskinfo.go).
	expanded sync.Map
}

type callerBox struct{ calls.Caller }

// New returns a framework for one term: st must be fenced by that term and
// eng loaded from it.
func New(cfg Config, st store.Store, eng *engine.Engine) *Framework {
	cfg.defaults()
	f := &Framework{cfg: cfg, store: st, engine: eng, log: cfg.Logger, revive: make(chan struct{}, 1), updates: newUpdateQueue(), fast: newFastPath(),
		deferred: deferredRunning{delay: cfg.RunningRecordDelay}}
	f.fwID.Store("")
	f.act = mesosActuator{f}
	f.caller = callrules.New(callrules.WithFrameworkID(f.FrameworkID)).Caller(f.watchdogCaller())

	return f
}

// Connected reports whether the framework is subscribed.
func (f *Framework) Connected() bool { return f.connected.Load() }

// Subscriptions counts SUBSCRIBED events received in this term.
func (f *Framework) Subscriptions() int64 { return f.subs.Load() }

// Work counts the launches sent, the status updates taken and the RUNNING
// records stored after their delay: a leader whose count stands still is
// quiet.
func (f *Framework) Work() uint64 { return f.work.Load() }

// FrameworkID is the current Mesos framework id ("" before the first subscribe).
func (f *Framework) FrameworkID() string { return f.fwID.Load().(string) }

// Revive asks for offers because work arrived (coalesced, non-blocking).
func (f *Framework) Revive() {
	select {
	case f.revive <- struct{}{}:
	default:
	}
}

// Kill sends KILL for the given attempts (task id → agent id).
// Each KILL is remembered until the task's terminal update and sent again
// after every re-subscription (one sent while disconnected fails).
func (f *Framework) Kill(ctx context.Context, tasks map[string]string) {
	f.awaited.wantKilled(tasks)
	for id, agent := range tasks {
		if err := f.act.kill(ctx, id, agent); err != nil {
			f.log.Warn("kill task", "task", id, "err", err)
		}
	}
}

// Run subscribes and handles events until ctx ends.
func (f *Framework) Run(ctx context.Context) error {
	id, err := f.store.FrameworkID(ctx)
	if err != nil {
		return fmt.Errorf("load framework id: %w", err)
	}
	f.fwID.Store(id)
	if len(f.cfg.Masters) == 0 {
		return errors.New("no mesos master given")
	}
	go f.updateLoop(ctx)
	go f.reviveLoop(ctx)
	go f.watchdog(ctx)
	f.awaited.setContext(ctx)
	go f.reconcileLoop(ctx)
	go f.placementLoop(ctx)
	go f.pollAgents(ctx)
	go f.tickLoop(ctx)

	err = controller.Run(ctx, f.cfg.FrameworkInfo(f.FrameworkID()), f.caller,
		controller.WithEventHandler(f.handler()),
		controller.WithFrameworkID(f.FrameworkID),
		controller.WithRegistrationTokens(backoff.Notifier(f.cfg.MinBackoff, f.cfg.MaxBackoff, ctx.Done())),
		controller.WithSubscriptionTerminated(func(err error) {
			f.connected.Store(false)
			if err != nil && ctx.Err() == nil {
				f.log.Warn("mesos subscription ended", "err", err)
			}
		}),
	)
	f.connected.Store(false)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// DefaultMaxEventBytes bounds one event on the master's stream. The
// largest events a master sends grow with the cluster: OFFERS carries one
// offer per agent with its resources and attributes (an offer of four
// resources, each reserved and unreserved, and six text attributes
// marshals to about 0.8 KiB; port ranges and richer attributes add more),
// and the master offers every agent of the role at once. SUBSCRIBED and
// RESCIND are small; UPDATE and MESSAGE carry an executor's data.
// mesos-go's own limit, 4 MiB, is met near 5,000 such agents; 64 MiB
// holds about 80,000, beyond the largest Mesos clusters, and still bounds
// what a broken or hostile stream can make the scheduler hold.
const DefaultMaxEventBytes = 64 << 20

func endpoint(master string) string {
	m := strings.TrimSuffix(master, "/")
	if !strings.Contains(m, "://") {
		m = "http://" + m
	}
	return m + "/api/v1/scheduler"
}

// newSchedCaller builds mesos-go's scheduler client for one master.
// mesos-go v0.0.11 follows a 307 only for SUBSCRIBE and keeps sending the
// other calls to its configured endpoint, so each subscription gets a
// client aimed at the leading master found beforehand.
func (f *Framework) newSchedCaller(master string) calls.Caller {
	doOpts := []httpcli.ConfigOpt{httpcli.Timeout(f.cfg.RequestTimeout)}
	if f.cfg.Principal != "" {
		doOpts = append(doOpts, httpcli.BasicAuth(f.cfg.Principal, f.cfg.Secret))
	}
	cli := httpcli.New(httpcli.Endpoint(endpoint(master)), httpcli.Do(httpcli.With(doOpts...)), httpcli.WrapDoer(f.fast.capture))
	cli.With(recordio.ClientOptions(httpcli.DefaultCodec, f.cfg.MaxEventBytes, "--max-event-bytes")...)
	return httpsched.NewCaller(cli,
		httpsched.AllowReconnection(true),
		httpsched.Listener(func(n httpsched.Notification) {
			// Subscribed only once SUBSCRIBED is handled (onSubscribed): the
			// stream connects before the framework id is known, and a call
			// sent in between (a REVIVE) is refused by the master for lacking it.
			if n.Type != httpsched.NotificationConnected {
				f.connected.Store(false)
			}
			f.log.Info("mesos subscription", "state", n.Type.String(), "master", master)
		}))
}

// findLeader asks the masters, starting after the last one used, where the
// leading master is (GET /redirect answers 307 to it); unreachable masters
// are skipped. With no answer it returns the next master in turn.
func (f *Framework) findLeader(ctx context.Context) string {
	f.mu.Lock()
	start := f.masterIdx
	f.mu.Unlock()
	hc := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for k := range f.cfg.Masters {
		i := (start + k) % len(f.cfg.Masters)
		m := strings.TrimSuffix(f.cfg.Masters[i], "/")
		if !strings.Contains(m, "://") {
			m = "http://" + m
		}
		req, err := http.NewRequestWithContext(ctx, "GET", m+"/redirect", nil)
		if err != nil {
			continue
		}
		resp, err := hc.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		f.mu.Lock()
		f.masterIdx = i
		f.mu.Unlock()
		if resp.StatusCode != http.StatusTemporaryRedirect {
			return m // not Mesos-like; try it directly
		}
		return resolveLocation(m, resp.Header.Get("Location"))
	}
	f.mu.Lock()
	f.masterIdx = (start + 1) % len(f.cfg.Masters)
	f.mu.Unlock()
	return f.cfg.Masters[start%len(f.cfg.Masters)]
}

// resolveLocation turns a Location such as //host:port into a base URL
// with the scheme of the master asked.
func resolveLocation(asked, loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" {
		return asked
	}
	scheme := u.Scheme
	if scheme == "" {
		if a, err := url.Parse(asked); err == nil {
			scheme = a.Scheme
		}
	}
	return scheme + "://" + u.Host
}

// watchdogCaller sends every call through the current subscription's
// client. Each SUBSCRIBE finds the leading master, gets a fresh client and
// its own context, cancelled by the heartbeat watchdog when the stream goes
// silent.
func (f *Framework) watchdogCaller() calls.Caller {
	return calls.CallerFunc(func(ctx context.Context, c *scheduler.Call) (mesos.Response, error) {
		if c.GetType() != scheduler.Call_SUBSCRIBE {
			box := f.inner.Load()
			if box == nil {
				return nil, errors.New("not subscribed to a mesos master yet")
			}
			return box.Call(ctx, c)
		}
		f.fast.reset()
		master := f.findLeader(ctx)
		f.master.Store(master)
		inner := f.newSchedCaller(master)
		f.inner.Store(&callerBox{inner})
		sctx, cancel := context.WithCancel(ctx)
		f.mu.Lock()
		if f.cancelSub != nil {
			f.cancelSub()
		}
		f.cancelSub = cancel
		f.lastEvent = time.Now()
		f.hbTimeout = f.cfg.HeartbeatTimeout
		if f.hbTimeout == 0 {
			f.hbTimeout = 75 * time.Second
		}
		f.mu.Unlock()
		resp, err := inner.Call(sctx, c)
		if err != nil {
			cancel()
		}
		return resp, err
	})
}

func (f *Framework) watchdog(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.mu.Lock()
			if f.cancelSub != nil {
				f.cancelSub()
			}
			f.mu.Unlock()
			return
		case <-t.C:
		}
		f.mu.Lock()
		if f.cancelSub != nil && f.connected.Load() && time.Since(f.lastEvent) > f.hbTimeout {
			f.log.Warn("no event from mesos master; dropping subscription", "silent", time.Since(f.lastEvent).Round(time.Millisecond))
			f.cancelSub()
			f.cancelSub = nil
		}
		f.mu.Unlock()
	}
}

func (f *Framework) touch() {
	f.mu.Lock()
	f.lastEvent = time.Now()
	f.mu.Unlock()
}

func (f *Framework) handler() events.Handler {
	touch := eventrules.Rule(func(ctx context.Context, e *scheduler.Event, err error, ch eventrules.Chain) (context.Context, *scheduler.Event, error) {
		f.touch()
		eventsTotal.WithLabelValues(e.GetType().String()).Inc()
		return ch(ctx, e, err)
	})
	return eventrules.New(touch, controller.LiftErrors().DropOnError()).Handle(events.Handlers{
		scheduler.Event_SUBSCRIBED: events.HandlerFunc(f.onSubscribed),
		scheduler.Event_OFFERS:     events.HandlerFunc(f.onOffers),
		scheduler.Event_UPDATE: events.HandlerFunc(func(ctx context.Context, e *scheduler.Event) error {
			s := e.GetUpdate().GetStatus() // a copy: the event is not kept
			f.updates.push(&s)
			return nil
		}),
		scheduler.Event_FAILURE: events.HandlerFunc(func(ctx context.Context, e *scheduler.Event) error {
			fl := e.GetFailure()
			// An executor of one task exits once its task ended: with a status
			// of 0 that is routine (one event per task on a busy cluster).
			level := slog.LevelInfo
			if fl.GetExecutorID() != nil && fl.Status != nil && fl.GetStatus() == 0 {
				level = slog.LevelDebug
			}
			f.log.Log(ctx, level, "mesos failure event", "agent", fl.GetAgentID().GetValue(), "executor", fl.GetExecutorID().GetValue(), "status", fl.GetStatus())
			return nil
		}),
	}.Otherwise(func(context.Context, *scheduler.Event) error { return nil }))
}

func (f *Framework) onSubscribed(ctx context.Context, e *scheduler.Event) error {
	s := e.GetSubscribed()
	id := s.GetFrameworkID().GetValue()
	if old := f.FrameworkID(); old != id {
		if err := f.store.SetFrameworkID(ctx, id); err != nil {
			return fmt.Errorf("store framework id: %w", err)
		}
		f.fwID.Store(id)
	}
	f.mu.Lock()
	if hb := s.GetHeartbeatIntervalSeconds(); hb > 0 && f.cfg.HeartbeatTimeout == 0 {
		f.hbTimeout = time.Duration(5 * hb * float64(time.Second))
	}
	f.suppressed = false
	f.mu.Unlock()
	f.connected.Store(true)
	f.subs.Add(1)
	f.log.Info("subscribed to mesos", "framework", id)
	// Explicit reconciliation of every attempt Gleaner believes active,
	// and the KILLs not answered yet.
	f.startReconcile()
	go f.resendKills(f.awaited.context())
	f.Revive()
	return nil
}

func (f *Framework) reconcileLoop(ctx context.Context) {
	explicit := time.NewTicker(f.cfg.ReconcileInterval)
	implicit := time.NewTicker(f.cfg.ImplicitReconcileInterval)
	defer explicit.Stop()
	defer implicit.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-explicit.C:
			if f.Connected() {
				f.startReconcile()
				f.reconcilePartitioned(ctx, nil)
			}
		case <-implicit.C:
			if f.Connected() {
				if err := calls.CallNoData(ctx, f.caller, calls.Reconcile()); err != nil {
					f.log.Warn("implicit reconciliation", "err", err)
				}
			}
		}
	}
}

func (f *Framework) reviveLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.revive:
		}
		if !f.Connected() || !f.engine.HasPlaceable() {
			continue
		}
		if err := calls.CallNoData(ctx, f.caller, calls.ReviveWith(f.cfg.Roles)); err != nil {
			f.log.Warn("revive", "err", err)
			continue
		}
		revivesTotal.Inc()
		f.mu.Lock()
		f.suppressed = false
		f.mu.Unlock()
	}
}
