package master

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// Version is the Mesos version the local master reports.
const Version = "1.12.0"

// Config configures a Master. The zero value is usable.
type Config struct {
	// Address is the host:port the master is reachable at, used in
	// MasterInfo, /redirect and /master/state (default 127.0.0.1:5050).
	Address string
	// Hostname is reported in MasterInfo (default: the host of Address).
	Hostname string
	// AllocationInterval is how often offers are made (default 1 s); the
	// allocator also runs right after anything frees or adds resources.
	AllocationInterval time.Duration
	// HeartbeatInterval is the scheduler HEARTBEAT period (default 15 s).
	HeartbeatInterval time.Duration
	// Credentials turns on HTTP basic authentication (principal → secret)
	// for the scheduler and operator APIs when non-empty.
	Credentials map[string]string
	// MaxCompletedTasksPerFramework and MaxCompletedFrameworks bound what
	// the master keeps of finished work, as Mesos' flags of those names
	// (0: the defaults, 1000 and 50; negative: keep none).
	MaxCompletedTasksPerFramework int
	MaxCompletedFrameworks        int
	// ID is the master ID (default: a fresh UUID).
	ID string
	// Logger receives the master's logs (default: discard).
	Logger *slog.Logger
}

// Master is an in-process Mesos master. All state lives behind mu; agent
// calls and network writes happen outside of it.
type Master struct {
	cfg   Config
	id    string
	info  mesos.MasterInfo
	start time.Time
	log   *slog.Logger

	mu         sync.Mutex
	fwSeq      int
	agentSeq   int
	offerSeq   int
	frameworks map[string]*framework
	fwOrder    []*framework // subscription order, for round-robin allocation
	removed    map[string]*framework
	completed  []*framework
	agents     map[string]*agent
	agentOrder []*agent
	offers     map[string]*offer
	rotate     int
	pending    []agentCall // agent calls queued under mu, posted after unlock
	mailboxes  map[link.Agent]*mailbox
	stats      counters
	closed     bool

	allocWake chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
}

var _ link.Master = (*Master)(nil)

// New creates a master and starts its allocator. Close stops it.
func New(cfg Config) *Master {
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:5050"
	}
	if cfg.AllocationInterval <= 0 {
		cfg.AllocationInterval = time.Second
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 15 * time.Second
	}
	if cfg.ID == "" {
		cfg.ID = uuid.NewString()
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(discard{}, nil))
	}
	cfg.MaxCompletedTasksPerFramework = completedBound(cfg.MaxCompletedTasksPerFramework, DefaultMaxCompletedTasksPerFramework)
	cfg.MaxCompletedFrameworks = completedBound(cfg.MaxCompletedFrameworks, DefaultMaxCompletedFrameworks)
	host, portStr, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		host, portStr = cfg.Address, "5050"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = host
	}
	port, _ := strconv.Atoi(portStr)
	var ip uint32
	if v4 := net.ParseIP(host).To4(); v4 != nil {
		// MasterInfo.ip is in network byte order read as a little-endian uint32.
		ip = uint32(v4[0]) | uint32(v4[1])<<8 | uint32(v4[2])<<16 | uint32(v4[3])<<24
	}
	p := uint32(port)
	version := Version
	hostname := cfg.Hostname
	pid := "master@" + cfg.Address
	m := &Master{
		cfg:   cfg,
		id:    cfg.ID,
		start: time.Now(),
		log:   lg,
		info: mesos.MasterInfo{
			ID: cfg.ID, IP: ip, Port: &p, PID: &pid, Hostname: &hostname, Version: &version,
			Address: &mesos.Address{Hostname: &hostname, IP: &host, Port: int32(port)},
		},
		frameworks: map[string]*framework{},
		removed:    map[string]*framework{},
		agents:     map[string]*agent{},
		offers:     map[string]*offer{},
		allocWake:  make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
	m.wg.Add(1)
	go m.allocLoop()
	return m
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// ID returns the master ID.
func (m *Master) ID() string { return m.id }

// Info returns the MasterInfo sent in SUBSCRIBED.
func (m *Master) Info() mesos.MasterInfo { return m.info }

// Close stops the allocator and closes every scheduler stream. Agents are
// not told anything: they belong to whoever started them.
func (m *Master) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	for _, fw := range m.frameworks {
		if fw.stream != nil {
			fw.stream.abort()
			fw.stream = nil
		}
		if fw.failover != nil {
			fw.failover.Stop()
		}
	}
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
}

// BreakStreams closes every framework's event stream, as a network blip
// would: the frameworks become disconnected and their failover timers start.
func (m *Master) BreakStreams() {
	m.mu.Lock()
	var streams []*eventStream
	for _, fw := range m.frameworks {
		if fw.stream != nil {
			streams = append(streams, fw.stream)
		}
	}
	m.mu.Unlock()
	for _, s := range streams {
		s.abort()
	}
}

// agentCall is a call of the master to an agent, queued under mu.
type agentCall struct {
	to   *mailbox
	call func()
}

// unlock releases mu and then posts the agent calls queued while it was
// held to their agents' mailboxes: an agent may call back into the master,
// and the caller (an HTTP handler) answers without waiting for the agents.
func (m *Master) unlock() {
	calls := m.pending
	m.pending = nil
	m.mu.Unlock()
	for len(calls) > 0 {
		// Consecutive calls to one agent go in one post.
		n := 1
		for n < len(calls) && calls[n].to == calls[0].to {
			n++
		}
		fs := make([]func(), n)
		for i := range fs {
			fs[i] = calls[i].call
		}
		calls[0].to.post(fs)
		calls = calls[n:]
	}
}

// later queues a call to agent l, sent once mu is released (unlock).
func (m *Master) later(l link.Agent, call func()) {
	box := m.mailboxes[l]
	if box == nil {
		if m.mailboxes == nil {
			m.mailboxes = map[link.Agent]*mailbox{}
		}
		box = &mailbox{}
		m.mailboxes[l] = box
	}
	m.pending = append(m.pending, agentCall{box, call})
}

// mailbox delivers the master's calls to one agent in the order they were
// made, one at a time, off the master's lock and the caller's goroutine: as
// the real master's messages reach an agent (in order between two
// processes, with the HTTP call that caused them already answered 202).
type mailbox struct {
	mu       sync.Mutex
	calls    []func()
	draining bool
}

func (b *mailbox) post(calls []func()) {
	b.mu.Lock()
	b.calls = append(b.calls, calls...)
	if b.draining {
		b.mu.Unlock()
		return
	}
	b.draining = true
	b.mu.Unlock()
	go b.drain()
}

func (b *mailbox) drain() {
	for {
		b.mu.Lock()
		calls := b.calls
		b.calls = nil
		if len(calls) == 0 {
			b.draining = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		for _, f := range calls {
			f()
		}
	}
}

// wakeAllocator asks for an allocation run soon.
func (m *Master) wakeAllocator() {
	select {
	case m.allocWake <- struct{}{}:
	default:
	}
}

func (m *Master) allocLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.AllocationInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		case <-m.allocWake:
		}
		m.allocate()
	}
}

func (m *Master) nextFrameworkID() string {
	m.fwSeq++
	return fmt.Sprintf("%s-%04d", m.id, m.fwSeq)
}

func (m *Master) nextAgentID() string {
	id := fmt.Sprintf("%s-S%d", m.id, m.agentSeq)
	m.agentSeq++
	return id
}

func (m *Master) nextOfferID() string {
	id := fmt.Sprintf("%s-O%d", m.id, m.offerSeq)
	m.offerSeq++
	return id
}

// Handler serves every endpoint of the master.
func (m *Master) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/v1/scheduler", "/master/api/v1/scheduler"} {
		mux.HandleFunc(p, m.serveScheduler)
	}
	mux.HandleFunc("/api/v1", m.serveOperator)
	mux.HandleFunc("/master/api/v1", m.serveOperator)
	// An unknown /api/v1/<name> reaches the operator API, as in Mesos.
	mux.HandleFunc("/api/v1/", m.serveOperator)
	mux.HandleFunc("/master/api/v1/", m.serveOperator)
	for _, p := range []string{"/redirect", "/master/redirect"} {
		mux.HandleFunc(p, m.serveRedirect)
	}
	for _, p := range []string{"/health", "/master/health"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	}
	for _, p := range []string{"/state", "/master/state", "/state.json", "/master/state.json"} {
		mux.HandleFunc(p, m.serveState)
	}
	mux.HandleFunc("/metrics/snapshot", m.serveMetrics)
	mux.HandleFunc("/version", wire.ServeVersion(Version))
	for _, p := range []string{"/reserve", "/master/reserve"} {
		mux.HandleFunc(p, m.serveLegacyReserve(true))
	}
	for _, p := range []string{"/unreserve", "/master/unreserve"} {
		mux.HandleFunc(p, m.serveLegacyReserve(false))
	}
	return mux
}

// Serve serves the master's endpoints on l until ctx ends.
func (m *Master) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	err := srv.Serve(l)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (m *Master) serveRedirect(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Location", "//"+m.cfg.Address)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

func (m *Master) sortedFrameworkIDs() []string {
	ids := make([]string, 0, len(m.frameworks))
	for id := range m.frameworks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func nowSeconds() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// Registration is what an agent told the master, as the master now sees it:
// enough to register the agent again with another master (failover).
type Registration struct {
	Agent     link.Agent
	Info      mesos.AgentInfo
	Tasks     []mesos.Task
	Executors []link.ExecutorRef
}

// Registrations lists the agents that are registered and not gone.
func (m *Master) Registrations() []Registration {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Registration
	for _, a := range m.agentOrder {
		if a.gone {
			continue
		}
		r := Registration{Agent: a.link, Info: a.info}
		for _, t := range a.tasks {
			info := t.info
			if len(info.Statuses) > 0 {
				info.Statuses = append([]mesos.TaskStatus(nil), info.Statuses...)
			}
			r.Tasks = append(r.Tasks, info)
		}
		for _, e := range a.executors {
			r.Executors = append(r.Executors, link.ExecutorRef{FrameworkID: mesos.FrameworkID{Value: e.fw}, Info: e.info})
		}
		out = append(out, r)
	}
	return out
}

// completedBound turns a Config bound into a count: 0 is def, negative 0.
func completedBound(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}
