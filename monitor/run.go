package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/executor/cgroups"
	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/monitor/reserver"
	"github.com/gleaner-project/gleaner/monitor/sampler"
	"github.com/gleaner-project/gleaner/monitor/throttle"
)

// Run runs a monitor until ctx ends. On the way out it lifts the throttle
// and revokes the heartbeat lease; the reservation stays for the next
// monitor to reconcile.
func Run(ctx context.Context, cfg Config) error {
	m, err := New(cfg)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}

// Monitor is one running monitor; New checks its Config.
type Monitor struct {
	cfg      Config
	log      *slog.Logger
	sampler  *sampler.Sampler
	probe    *latencyProbe // nil without an SLO probe
	ctrl     *policy.Controller
	res      reserver.Reservations
	thr      throttle.Throttler
	memLimit *throttle.MemoryLimit // batch soft limit / memory.high; nil without cgroups
	memAt    float64               // MB last written (-1: none)
	etcd     *clientv3.Client
	ownEtcd  bool
	link     *etcdLink
	metrics  *metrics
	listener net.Listener

	now func() time.Time // the clock (tests drive their own)

	mu     sync.Mutex
	status Status
	lastOK time.Time

	// loop state
	state       reserver.State
	haveState   bool
	stateAt     time.Time
	retryAt     time.Time        // after a partial or refused change
	tried       policy.Resources // target of the last change attempted
	throttled   bool
	throttleAt  float64
	evPending   bool
	lastErr     error
	lastErrKind string

	// After a failed read of the master's view: how many in a row, the
	// error, and when to try again (masterRetryDelay).
	stateFailures int
	stateErr      error
	stateRetryAt  time.Time
}

// executorIdle makes a newly found executor process SCHED_IDLE.
func (m *Monitor) executorIdle(pid int) {
	procRoot := m.cfg.ProcRoot
	if procRoot == "" {
		procRoot = "/proc"
	}
	n, err := cgroups.SetProcessIdle(procRoot, pid)
	if err != nil {
		m.log.Warn("executor process stays in its scheduling class", "pid", pid, "error", err)
		return
	}
	m.log.Debug("executor process made SCHED_IDLE", "pid", pid, "threads", n)
}

// New builds a monitor: validates cfg, opens the sampler, the throttler,
// the operator client and etcd, and binds the HTTP listener.
func New(cfg Config) (*Monitor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("monitor config: %w", err)
	}
	m := &Monitor{cfg: cfg, now: time.Now, log: cfg.Logger.With("component", "monitor", "agent", cfg.AgentHostname)}
	if cfg.Policy.BatchIdle && cfg.Throttler == nil && !cfg.NoThrottle {
		// Batch runs SCHED_IDLE (or at minimal weight); without it the
		// policy must fall back to the usage rule.
		mode, err := cgroups.SetIdle(cgroupRoot(cfg), cfg.CgroupParent)
		if err != nil {
			m.log.Warn("batch cgroups cannot be made idle; throttling on usage instead", "error", err)
			cfg.Policy.BatchIdle = false
			m.cfg.Policy.BatchIdle = false
		} else {
			m.log.Info("batch cgroups yield the CPU", "mode", string(mode), "cgroup_parent", cfg.CgroupParent)
		}
	}
	scfg := sampler.Config{ProcRoot: cfg.ProcRoot, SysRoot: cfg.SysRoot, CgroupRoot: cfg.CgroupRoot, CgroupParent: cfg.CgroupParent, BatchDiskDirs: cfg.BundleCacheDirs}
	if cfg.Policy.BatchIdle && cfg.Throttler == nil && !cfg.NoThrottle && !cfg.ExecutorsKeepClass {
		// The executors live outside the batch cgroups: make them (and the
		// tasks they start later) SCHED_IDLE too, so no batch-side process
		// competes with business for a CPU.
		scfg.NewExecutor = m.executorIdle
	}
	m.sampler, err = sampler.New(scfg)
	if err != nil {
		return nil, fmt.Errorf("monitor sampler: %w", err)
	}
	if m.ctrl, err = policy.New(cfg.Policy); err != nil {
		return nil, err
	}
	if cfg.SLOProbeURL != "" {
		// A reading that times out is a violation; waiting longer would
		// only delay the next.
		m.probe = newLatencyProbe(cfg.SLOProbeURL, max(time.Duration(4*cfg.Policy.LatencySLOMs*float64(time.Millisecond)), 100*time.Millisecond))
	}
	m.res = cfg.Reservations
	if m.res == nil {
		secret, err := readSecret(cfg.SecretFile)
		if err != nil {
			return nil, err
		}
		if m.res, err = reserver.New(reserver.Config{MasterURL: cfg.MasterURL, Hostname: cfg.AgentHostname, Role: cfg.Role, Principal: cfg.Principal, Secret: secret}); err != nil {
			return nil, fmt.Errorf("monitor operator client: %w", err)
		}
	}
	m.thr = cfg.Throttler
	if m.thr == nil && !cfg.NoThrottle {
		c, err := throttle.NewCgroup(cgroupRoot(cfg), cfg.CgroupParent)
		if err != nil {
			return nil, fmt.Errorf("monitor throttle (use NoThrottle on hosts without cgroups): %w", err)
		}
		m.thr = c
	}
	m.memAt = -1
	if cfg.Throttler == nil && !cfg.NoThrottle {
		if ml, err := throttle.NewMemoryLimit(cgroupRoot(cfg), cfg.CgroupParent); err != nil {
			m.log.Warn("batch memory is not soft-limited (evictions only)", "error", err)
		} else {
			m.memLimit = ml
		}
	}
	m.etcd = cfg.Etcd
	if m.etcd == nil {
		m.etcd, err = clientv3.New(clientv3.Config{Endpoints: cfg.EtcdEndpoints, DialTimeout: 5 * time.Second, Logger: nopZap()})
		if err != nil {
			return nil, fmt.Errorf("monitor etcd client: %w", err)
		}
		m.ownEtcd = true
	}
	m.link = &etcdLink{cli: m.etcd, hbKey: HeartbeatKey(cfg.EtcdPrefix, cfg.AgentHostname), evKey: EvictionKey(cfg.EtcdPrefix, cfg.AgentHostname), ttl: cfg.HeartbeatTTL, hostname: cfg.AgentHostname, interval: cfg.Interval}
	m.metrics = newMetrics(cfg.AgentHostname, cfg.Role)
	if m.probe != nil {
		m.metrics.withProbe(cfg.AgentHostname, cfg.Role, cfg.Policy.LatencySLOMs)
		m.probe.observe = m.metrics.probeLatency.Observe
	}
	if cfg.Listen != "" {
		if m.listener, err = net.Listen("tcp", cfg.Listen); err != nil {
			m.closeEtcd()
			return nil, fmt.Errorf("monitor listen: %w", err)
		}
	}
	return m, nil
}

func cgroupRoot(cfg Config) string {
	if cfg.CgroupRoot == "" {
		return "/sys/fs/cgroup"
	}
	return cfg.CgroupRoot
}

// Addr is the HTTP listener's address (nil without Listen).
func (m *Monitor) Addr() net.Addr {
	if m.listener == nil {
		return nil
	}
	return m.listener.Addr()
}

// Status returns the latest heartbeat record.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Handler serves /metrics and /healthz.
func (m *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		last, st := m.lastOK, m.status
		m.mu.Unlock()
		if last.IsZero() || m.now().Sub(last) > 3*m.cfg.Interval+time.Second {
			http.Error(w, fmt.Sprintf("no sample since %v: %s", last.Format(time.RFC3339), st.LastError), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Run samples every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	defer m.closeEtcd()
	var srv *http.Server
	if m.listener != nil {
		srv = &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.log.Error("metrics server", "error", err)
			}
		}()
	}
	m.log.Info("monitor started", "master", m.cfg.MasterURL, "role", m.cfg.Role, "interval", m.cfg.Interval, "cgroup_parent", m.cfg.CgroupParent)
	// Prime the CPU counters so the first tick has an interval to measure.
	if _, _, err := m.sampler.Sample(ctx); err != nil {
		m.log.Warn("first sample", "error", err)
	}
	m.liftLeftover()
	if m.cfg.ReleaseStartupPages {
		m.log.Debug("released start-up pages", "mappings", releaseStartupPages())
	}
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	if m.probe != nil {
		period := m.cfg.FastInterval
		if period <= 0 {
			period = m.cfg.Interval / 4
		}
		pctx, stop := context.WithCancel(ctx)
		defer stop()
		go m.probe.run(pctx, period)
	}
	var fast <-chan time.Time
	if m.cfg.FastInterval > 0 && m.thr != nil {
		ft := time.NewTicker(m.cfg.FastInterval)
		defer ft.Stop()
		fast = ft.C
	}
	for {
		select {
		case <-ctx.Done():
			m.shutdown(srv)
			return nil
		case <-t.C:
			m.Tick(ctx)
		case <-fast:
			m.FastTick(ctx)
		}
	}
}

// liftLeftover lifts a cap a previous, killed monitor left on the batch
// cgroups: the policy starts unthrottled and re-engages within one fast
// check if the host is still busy.
func (m *Monitor) liftLeftover() {
	cur, ok := m.thr.(interface {
		Current() (float64, bool, error)
	})
	if !ok {
		return
	}
	cpus, on, err := cur.Current()
	if err != nil || !on {
		return
	}
	if err := m.thr.Lift(); err != nil {
		m.fail("throttle", err)
		return
	}
	m.log.Info("lifted a throttle left by a previous monitor", "cpus", cpus)
}

func (m *Monitor) shutdown(srv *http.Server) {
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if m.thr != nil && m.throttled {
		if err := m.thr.Lift(); err != nil {
			m.log.Warn("lift throttle on exit", "error", err)
		}
	}
	if m.memLimit != nil && m.memAt >= 0 {
		if err := m.memLimit.Lift(); err != nil {
			m.log.Warn("lift batch memory limit on exit", "error", err)
		}
	}
	m.link.close(cctx)
	if srv != nil {
		_ = srv.Shutdown(cctx)
	}
	m.log.Info("monitor stopped")
}

func (m *Monitor) closeEtcd() {
	if m.ownEtcd && m.etcd != nil {
		_ = m.etcd.Close()
		m.etcd = nil
	}
}

// fail records an error of a stage.
func (m *Monitor) fail(stage string, err error) {
	m.metrics.errors.WithLabelValues(stage).Inc()
	m.lastErr, m.lastErrKind = err, stage
	m.log.Warn("monitor "+stage, "error", err)
}

// masterRetryDelay is how long the monitor waits before reading the
// master's view again after failures failed reads in a row: 1 s, doubling,
// at most a minute. A misconfigured --agent-hostname or a master that is
// down does not cost a request and a log line every second.
func masterRetryDelay(failures int) time.Duration {
	const first, most = time.Second, time.Minute
	if failures < 1 {
		return 0
	}
	d := first
	for i := 1; i < failures && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// masterFailed records a failed read of the master's view, schedules the
// next one and logs it (so the log lines back off with the reads), naming
// the hostname when the master does not know it.
func (m *Monitor) masterFailed(err error) {
	m.stateFailures++
	delay := masterRetryDelay(m.stateFailures)
	m.stateRetryAt = m.now().Add(delay)
	if errors.Is(err, reserver.ErrAgentNotFound) {
		err = fmt.Errorf("no agent with hostname %q is registered with the master at %s: --agent-hostname must be the "+
			"hostname the Mesos agent registered with (its --hostname flag; see GET_AGENTS or the master's /state): %w",
			m.cfg.AgentHostname, m.cfg.MasterURL, err)
	}
	m.stateErr = err
	m.metrics.errors.WithLabelValues("master").Inc()
	m.lastErr, m.lastErrKind = err, "master"
	m.log.Warn("monitor master", "error", err, "failures", m.stateFailures, "retry_in", delay)
}

// Tick takes one sample and acts on it: throttle first, then evictions,
// then the reservation, then the heartbeat. Exported for tests and
// benchmarks that drive the loop themselves.
func (m *Monitor) Tick(ctx context.Context) {
	start := m.now()
	wall := time.Now()
	defer func() { m.metrics.sampleDuration.Observe(time.Since(wall).Seconds()) }()
	m.lastErr = nil
	smp, ok, err := m.sampler.Sample(ctx)
	if err != nil {
		m.fail("sample", err)
		m.publish(ctx, Status{Time: start}, false)
		return
	}
	if !ok {
		return
	}
	m.metrics.samples.Inc()
	if m.cfg.CapacityCPUs > 0 {
		smp.Capacity.CPUs = m.cfg.CapacityCPUs
	}
	if m.cfg.CapacityMemMB > 0 {
		smp.Capacity.MemMB = m.cfg.CapacityMemMB
	}

	// The master's view: on start, every ReconcileInterval, and after an
	// error once its backoff has passed (the error stays in the status
	// meanwhile).
	if m.haveState && m.now().Sub(m.stateAt) >= m.cfg.ReconcileInterval || !m.haveState && !m.now().Before(m.stateRetryAt) {
		st, err := m.res.State(ctx)
		if err != nil {
			m.masterFailed(err)
			if m.haveState {
				m.haveState = false
				m.ctrl.Reset()
			}
		} else {
			if !m.haveState {
				m.log.Info("reconciled with master", "agent_id", st.AgentID, "reserved_cpus", st.Reserved.CPUs, "reserved_mem_mb", st.Reserved.MemMB)
			}
			m.state, m.haveState, m.stateAt = st, true, m.now()
			m.stateFailures, m.stateErr = 0, nil
		}
	} else if !m.haveState && m.stateErr != nil {
		m.lastErr, m.lastErrKind = m.stateErr, "master"
	}

	in := policy.Input{
		Capacity: smp.Capacity, Business: smp.Business, Batch: smp.Batch,
		ReservationKnown: m.haveState,
		Reserved:         m.state.Reserved, Allocated: m.state.Allocated, Limit: m.state.Total,
		EvictionPending: m.evPending,
		MemPressure:     smp.MemPressure,
	}
	if m.probe != nil {
		in.LatencyMs = m.probe.takeMs()
		m.metrics.probeWorst.Set(in.LatencyMs / 1000)
	}
	d, err := m.ctrl.Step(in)
	if m.log.Enabled(ctx, slog.LevelDebug) {
		m.log.Debug("decision", "in", in, "d", d)
	}
	if err != nil {
		m.fail("sample", err)
		m.publish(ctx, Status{Time: start}, false)
		return
	}

	// (1) CPU throttle, at once.
	m.applyMemoryLimit(d.BatchMemLimitMB)
	if d.SLOViolated {
		m.metrics.sloViolations.Inc()
		m.log.Info("business latency above the SLO", "latency_ms", in.LatencyMs, "slo_ms", m.cfg.Policy.LatencySLOMs, "throttle_cpus", d.ThrottleCPUs)
	}
	m.applyThrottle(d)

	// (2) Evictions.
	if d.Evict != nil {
		req, created, err := m.link.requestEviction(ctx, *d.Evict, m.now())
		switch {
		case err != nil:
			m.fail("etcd", err)
		case created:
			m.evPending = true
			m.metrics.evictionsRequested.Inc()
			m.log.Info("eviction requested", "id", req.ID, "cpus", req.CPUs, "mem_mb", req.MemMB, "reason", req.Reason)
		default:
			m.evPending = true
		}
	}

	// (3) The reservation follows the target (only free resources move).
	// After a partial or refused change, wait ReconcileInterval unless the
	// target itself has moved since.
	if m.haveState && differs(d.Target, m.state.Reserved) && (!m.now().Before(m.retryAt) || differs(d.Target, m.tried)) {
		m.tried = d.Target
		res, err := m.res.Apply(ctx, d.Target)
		if res.Before.AgentID != "" {
			m.state, m.stateAt = res.Before, m.now()
			m.state.Reserved = res.Reserved
		}
		for _, op := range res.Done {
			m.metrics.reservationOps.WithLabelValues(op.Kind.String(), op.Name).Inc()
			m.log.Info("reservation changed", "op", op.Kind.String(), "resource", op.Name, "amount", op.Amount, "target_cpus", d.Target.CPUs, "target_mem_mb", d.Target.MemMB)
		}
		if res.Partial || (err == nil && len(res.Done) == 0) {
			m.retryAt = m.now().Add(m.cfg.ReconcileInterval)
		}
		if err != nil {
			m.fail("reserve", err)
			if !errors.Is(err, reserver.ErrConflict) {
				m.haveState = false // re-read before trying again
				m.ctrl.Reset()
			}
		}
	}

	st := Status{
		Time: start, Capacity: smp.Capacity, Business: smp.Business, Batch: smp.Batch,
		Allowance: d.Allowance, Target: d.Target, Reserved: m.state.Reserved,
		Throttled: m.throttled, ThrottleCPUs: m.throttleAt, BatchDiskMB: smp.BatchDiskMB,
	}
	m.publish(ctx, st, true)
}

// FastTick is the cheap check between samples: it reads host and batch CPU
// and engages the throttle at once when business is squeezed.
func (m *Monitor) FastTick(ctx context.Context) {
	capacity, used, batch, ok, err := m.sampler.CPU(ctx)
	if err != nil {
		m.fail("sample", err)
		return
	}
	if !ok || m.thr == nil {
		return
	}
	if m.cfg.CapacityCPUs > 0 {
		capacity = m.cfg.CapacityCPUs
	}
	engage, cpus := m.ctrl.Fast(capacity, used-batch, batch)
	if !engage {
		return
	}
	if err := m.thr.Set(cpus); err != nil {
		m.fail("throttle", err) // the next Tick tries again
		return
	}
	m.log.Info("batch cpu throttled between samples", "cpus", cpus, "business_cpus", used-batch, "batch_cpus", batch)
	m.throttled, m.throttleAt = true, cpus
	m.metrics.throttled.Set(1)
	m.metrics.throttleCPUs.Set(cpus)
}

// applyMemoryLimit writes the batch memory limit when it moved by a memory
// step or more since the last write.
func (m *Monitor) applyMemoryLimit(mb float64) {
	if m.memLimit == nil || (m.memAt >= 0 && math.Abs(mb-m.memAt) < m.cfg.Policy.Mem.Step) {
		return
	}
	if err := m.memLimit.Set(mb); err != nil {
		m.fail("throttle", err)
		return
	}
	m.memAt = mb
}

// applyThrottle writes the cap when it changes, and lifts it.
func (m *Monitor) applyThrottle(d policy.Decision) {
	if m.thr == nil {
		return
	}
	switch {
	case d.Throttle && (!m.throttled || math.Abs(d.ThrottleCPUs-m.throttleAt) >= 0.01):
		if err := m.thr.Set(d.ThrottleCPUs); err != nil {
			m.fail("throttle", err)
			return
		}
		if !m.throttled {
			m.log.Info("batch cpu throttled", "cpus", d.ThrottleCPUs)
		}
		m.throttled, m.throttleAt = true, d.ThrottleCPUs
	case !d.Throttle && m.throttled:
		if err := m.thr.Lift(); err != nil {
			m.fail("throttle", err)
			return
		}
		m.log.Info("batch cpu throttle lifted")
		m.throttled, m.throttleAt = false, 0
	}
}

// publish completes the status, writes the heartbeat and the metrics.
func (m *Monitor) publish(ctx context.Context, st Status, ok bool) {
	st.Hostname, st.Role, st.AgentID = m.cfg.AgentHostname, m.cfg.Role, m.state.AgentID
	if !ok {
		m.mu.Lock()
		prev := m.status
		m.mu.Unlock()
		prev.Time = st.Time
		st = prev
		st.Hostname, st.Role = m.cfg.AgentHostname, m.cfg.Role
	}
	st.Throttled, st.ThrottleCPUs = m.throttled, m.throttleAt
	if m.lastErr != nil {
		st.LastError = m.lastErrKind + ": " + m.lastErr.Error()
	}
	st.EvictionPending = m.evPending
	pending, err := m.link.beat(ctx, st, m.evPending)
	if err != nil {
		m.fail("etcd", err)
	} else {
		m.evPending = pending
		st.EvictionPending = pending
	}
	if ok {
		m.metrics.observe(st)
	}
	m.mu.Lock()
	m.status = st
	if ok {
		m.lastOK = st.Time
	}
	m.mu.Unlock()
}

// differs: the target and the reservation differ by at least the
// reservation granularity (0.01 cpus, 1 MB).
func differs(a, b policy.Resources) bool {
	return math.Abs(a.CPUs-b.CPUs) >= 0.01-1e-9 || math.Abs(a.MemMB-b.MemMB) >= 1-1e-9
}
