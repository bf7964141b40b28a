package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/evict"
	"github.com/gleaner-project/gleaner/scheduler/framework"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/leader"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	"github.com/gleaner-project/gleaner/scheduler/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Config configures a node.
type Config struct {
	Framework framework.Config
	Prefix    string // etcd prefix, default /gleaner/
	// AdvertiseURL is this node's API URL, published while it leads so
	// standbys can redirect writes.
	AdvertiseURL string
	// LeaseTTL is the election lease in seconds (default 10).
	LeaseTTL int
	// ResignOnExit resigns leadership when Run's ctx ends (SIGTERM); when
	// false the lease is left to expire, as after a crash.
	ResignOnExit bool
	// Matcher places instances on offers; nil means a placement matcher
	// (scheduler/placement/matcher: constraints, fair order, preemption)
	// made afresh for each leadership term.
	Matcher engine.Matcher
	// Fair weights queues and users for the placement matcher.
	Fair   placement.FairConfig
	Logger *slog.Logger
	// EvictPoll is how often the leader re-reads monitors' eviction
	// requests besides watching them (scheduler/evict; default 5 s).
	EvictPoll time.Duration
	// EvictCooldown: how long a host that had an eviction request gets no
	// new work (default 15 s).
	EvictCooldown time.Duration
	// QueueTTL is how long a work-queue claim outlives silence from its
	// worker (default scheduler/queue.DefaultTTL).
	QueueTTL time.Duration
	// CronInterval is how often the leader evaluates schedules (default
	// DefaultCronInterval).
	CronInterval time.Duration
	// FoldMinInstances and FoldInterval: a succeeded job with a task this
	// big has its first-attempt successes folded into index ranges (see
	// job.Folds), checked this often (defaults DefaultFoldMinInstances,
	// DefaultFoldInterval).
	FoldMinInstances int
	FoldInterval     time.Duration
	// FinishedJobTTL: finished jobs without their own ttlAfterFinished
	// have their records deleted this long after they ended (0 keeps
	// them); GCInterval is how often the leader looks (default
	// DefaultGCInterval). Runs of scheduled jobs beyond their history
	// limits are deleted as well.
	FinishedJobTTL time.Duration
	GCInterval     time.Duration
}

// NotLeaderError is returned for writes on a standby.
type NotLeaderError struct{ LeaderURL string }

func (e *NotLeaderError) Error() string {
	if e.LeaderURL == "" {
		return "not the leader and no leader is elected"
	}
	return "not the leader; the leader is " + e.LeaderURL
}

// Node is one scheduler process.
type Node struct {
	cfg   Config
	cli   *clientv3.Client
	reads *store.Etcd
	log   *slog.Logger

	// attrs, watcher and agents serve live agent attributes (etcd) and
	// what offers said of agents, across leadership terms.
	attrs   *attrs.Store
	watcher *attrs.Watcher
	agents  *framework.Agents

	mu  sync.Mutex
	cur *term

	// background is held by a pass of the background readers of finished
	// jobs (foldOnce, gcOnce), so one of them reads a big job at a time;
	// it guards unfoldable, the fold's record of the big jobs it found
	// not to fold (by id, with their record's fingerprint).
	background sync.Mutex
	unfoldable map[string][sha256.Size]byte
}

type term struct {
	store   store.Store
	engine  *engine.Engine
	fw      *framework.Framework
	matcher *matcher.Matcher // nil with a configured Matcher
}

// New returns a node using cli for etcd.
func New(cfg Config, cli *clientv3.Client) *Node {
	if cfg.Prefix == "" {
		cfg.Prefix = store.DefaultPrefix
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Framework.Logger = cfg.Logger
	n := &Node{cfg: cfg, cli: cli, reads: store.NewEtcd(cli, cfg.Prefix), log: cfg.Logger}
	n.cfg.Prefix = n.reads.Prefix()
	n.initQueue()
	n.attrs = attrs.NewStore(cli, n.cfg.Prefix)
	n.watcher = attrs.NewWatcher(n.attrs, cfg.Logger)
	n.agents = framework.NewAgents()
	return n
}

// Attrs is the etcd store of agent attributes.
func (n *Node) Attrs() *attrs.Store { return n.attrs }

// Agents implements attrs.AgentSource: agents as their last offers
// described them.
func (n *Node) Agents() []attrs.AgentInfo { return n.agents.Agents() }

// AgentEndpoint is an agent's HTTP base URL as offers or GET_AGENTS told it
// ("" if not seen), for reading its sandboxes.
func (n *Node) AgentEndpoint(agentID string) string { return n.agents.Endpoint(agentID) }

// RequireMonitor and SilentMonitors report --require-monitor and the hosts
// it blocks (their last offer came without a live monitor heartbeat).
func (n *Node) RequireMonitor() bool                  { return n.cfg.Framework.RequireMonitor }
func (n *Node) SilentMonitors(now time.Time) []string { return n.agents.SilentMonitors(now) }

// Why explains a task's pending instances from the last offer cycle of the
// current term; ok is false when there is nothing to explain here.
func (n *Node) Why(jobID, task string) (matcher.Pending, bool) {
	t := n.current()
	if t == nil || t.matcher == nil {
		return matcher.Pending{}, false
	}
	return t.matcher.Why(jobID, task)
}

// Store is the unfenced store, for reads.
func (n *Node) Store() store.Store { return n.reads }

// Run campaigns and leads until ctx ends.
func (n *Node) Run(ctx context.Context) error {
	if n.cfg.Framework.RequireMonitor { // said once here, then per blocked host (framework.MonitorGate)
		n.log.Info("--require-monitor: a host gets no new work until its monitor heartbeats (gleaner monitor on each agent host); /healthz lists the hosts blocked",
			"heartbeat_keys", n.cfg.Prefix+"monitors/<hostname>")
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		if err := n.watcher.Run(wctx); err != nil && wctx.Err() == nil {
			n.log.Warn("agent attribute watcher stopped", "err", err)
		}
	}()
	for ctx.Err() == nil {
		t, err := leader.Campaign(ctx, n.cli, n.cfg.Prefix, n.cfg.AdvertiseURL, n.cfg.LeaseTTL)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			n.log.Warn("campaign failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		n.log.Info("elected leader", "key", t.Key(), "rev", t.Rev())
		n.lead(ctx, t)
		if ctx.Err() != nil {
			if n.cfg.ResignOnExit {
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := t.Resign(rctx); err != nil {
					n.log.Warn("resign", "err", err)
				}
				cancel()
			} else {
				t.Abandon()
			}
			return nil
		}
		n.log.Warn("leadership lost")
		t.Abandon()
	}
	return nil
}

func (n *Node) lead(ctx context.Context, t *leader.Term) {
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.Done():
			cancel()
		case <-tctx.Done():
		}
	}()
	fenced := store.NewEtcd(n.cli, n.cfg.Prefix).Fenced(t.Key(), t.Rev())
	var pm *matcher.Matcher
	m := n.cfg.Matcher
	if m == nil {
		pm = matcher.New(matcher.Config{Fair: n.cfg.Fair})
		m = pm
	}
	eng := engine.New(m)
	for {
		err := n.rebuild(tctx, fenced, eng)
		if err == nil {
			break
		}
		n.log.Warn("rebuild from etcd failed; retrying", "err", err)
		select {
		case <-tctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	// Place with the etcd attributes and monitor heartbeats loaded (a
	// constraint on an etcd attribute would otherwise misjudge a cycle).
	select {
	case <-n.watcher.Ready():
	case <-tctx.Done():
		return
	case <-time.After(10 * time.Second):
		n.log.Warn("agent attributes not loaded yet; placing on Mesos attributes until they are")
	}
	// Eviction requests of the monitors: the victims an earlier leader
	// recorded are marked before subscribing, so their kills end reclaimed;
	// a host being reclaimed gets no new work for a cooldown.
	var fw *framework.Framework
	ev := evict.New(evict.Config{Client: n.cli, Prefix: n.cfg.Prefix, Target: evict.EngineTarget(eng),
		Kill:  func(ctx context.Context, tasks map[string]string) { fw.Kill(ctx, tasks) },
		Fence: []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(t.Key()), "=", t.Rev())},
		Poll:  n.cfg.EvictPoll, Cooldown: n.cfg.EvictCooldown, Logger: n.log})
	fc := n.cfg.Framework
	fc.Attrs, fc.Agents = n.watcher, n.agents
	fc.HoldHost = ev.Holding
	fc.Fence = []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(t.Key()), "=", t.Rev())}
	fw = framework.New(fc, fenced, eng)
	for {
		err := ev.Restore(tctx)
		if err == nil {
			break
		}
		n.log.Warn("restore eviction records; retrying", "err", err)
		select {
		case <-tctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	go func() { _ = ev.Run(tctx) }()
	n.mu.Lock()
	n.cur = &term{store: fenced, engine: eng, fw: fw, matcher: pm}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.cur = nil
		n.mu.Unlock()
	}()
	go n.cronLoop(tctx)
	go n.foldLoop(tctx)
	go n.gcLoop(tctx)
	go n.idleMemoryLoop(tctx) // memory.go
	if err := fw.Run(tctx); err != nil {
		n.log.Warn("framework stopped", "err", err)
	}
}

// rebuild loads every unfinished job and its attempts into eng.
func (n *Node) rebuild(ctx context.Context, st store.Store, eng *engine.Engine) error {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	jobs, err := st.ListJobs(rctx)
	if err != nil {
		return err
	}
	all := map[string][]job.Attempt{}
	var live []*job.Job
	for _, j := range jobs {
		if scheduled(j) {
			continue
		}
		// A finished job is derived page by page and never held whole;
		// only an unfinished job's records are loaded into the engine.
		r, err := reduce(rctx, st, j)
		if err != nil {
			return err
		}
		if r.Status().State.Terminal() {
			continue
		}
		as, err := st.Attempts(rctx, j.ID)
		if err != nil {
			return err
		}
		live = append(live, j)
		all[j.ID] = as
	}
	eng.Load(live, all)
	n.log.Info("rebuilt state from etcd", "jobs", len(live), "active", len(eng.Active()))
	return nil
}

func (n *Node) current() *term {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cur
}

// IsLeader reports whether this node leads now.
func (n *Node) IsLeader() bool { return n.current() != nil }

// Subscribed reports whether this node leads and is subscribed to Mesos.
func (n *Node) Subscribed() bool {
	t := n.current()
	return t != nil && t.fw.Connected()
}

// Scheduling reports whether this node leads and still schedules the job
// (a cheap in-memory check; false once the job has finished here).
func (n *Node) Scheduling(id string) bool {
	t := n.current()
	if t == nil {
		return false
	}
	for _, j := range t.engine.Jobs() {
		if j == id {
			return true
		}
	}
	return false
}

// Subscriptions counts SUBSCRIBED events in the current term (0 when not leading).
func (n *Node) Subscriptions() int64 {
	if t := n.current(); t != nil {
		return t.fw.Subscriptions()
	}
	return 0
}

// LeaderURL is the API URL the current leader advertised (see
// leaderURLFor).
func (n *Node) LeaderURL(ctx context.Context) string {
	v, _ := leader.Current(ctx, n.cli, n.cfg.Prefix)
	return leaderURLFor(v, n.cfg.AdvertiseURL, n.IsLeader())
}

// leaderURLFor is the leader's advertised URL as this node tells it, or ""
// when that URL is this node's own but it does not lead yet: it won the
// election and is still taking over (rebuilding its state), and a client
// redirected to it would only come back (or, behind an address only others
// resolve, fail); "" makes the API answer "no leader yet", which clients
// retry. Pure.
func leaderURLFor(advertised, self string, leading bool) string {
	if !leading && self != "" && strings.TrimSuffix(advertised, "/") == strings.TrimSuffix(self, "/") {
		return ""
	}
	return advertised
}

func (n *Node) notLeader(ctx context.Context) error {
	return &NotLeaderError{LeaderURL: n.LeaderURL(ctx)}
}

// NewJobID makes a job id: the name and a random suffix.
func NewJobID(name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}

// CheckSubmit says whether Submit would refuse a valid spec here: a
// *fielderr.FieldError naming what this scheduler's executor cannot enforce, or
// root (scheduler/isolation). Dry runs ask it too.
func (n *Node) CheckSubmit(sp *job.Spec) error { return n.cfg.Framework.Isolation().Check(sp) }

// Submit stores a validated spec as a new job and starts scheduling it.
func (n *Node) Submit(ctx context.Context, sp *job.Spec) (*job.Job, error) {
	t := n.current()
	if t == nil {
		return nil, n.notLeader(ctx)
	}
	if err := n.CheckSubmit(sp); err != nil {
		return nil, err
	}
	for range 5 {
		j := &job.Job{ID: NewJobID(sp.Name), Spec: *sp, Submitted: time.Now().UTC()}
		err := t.store.CreateJob(ctx, j)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if errors.Is(err, store.ErrNotLeader) {
			return nil, n.notLeader(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("submit job %s: %w", sp.Name, err)
		}
		if err := n.addQueueItems(ctx, j); err != nil {
			return nil, err
		}
		if !scheduled(j) {
			t.engine.AddJob(j)
		}
		t.fw.Revive()
		n.log.Info("job submitted", "job", j.ID, "tasks", len(sp.Tasks))
		return j, nil
	}
	return nil, fmt.Errorf("submit job %s: no free id", sp.Name)
}

// Kill records the kill request, then kills the job's running attempts.
func (n *Node) Kill(ctx context.Context, id string) (*job.Job, error) {
	t := n.current()
	if t == nil {
		return nil, n.notLeader(ctx)
	}
	// A compare-and-swap: a kill racing another writer of the record (the
	// cron loop, a suspend, a deadline) keeps both changes.
	j, err := t.store.UpdateJob(ctx, id, func(j *job.Job) error {
		if !j.KillRequested {
			j.KillRequested = true
			j.KilledAt = time.Now().UTC()
		}
		return nil
	})
	if errors.Is(err, store.ErrNotLeader) {
		return nil, n.notLeader(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("kill job %s: %w", id, err)
	}
	tasks := t.engine.Kill(id)
	t.fw.Kill(ctx, tasks)
	n.log.Info("job killed", "job", id, "running", len(tasks))
	return j, nil
}
