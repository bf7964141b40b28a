package localmesos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
	"github.com/gleaner-project/gleaner/test/localmesos/master"
)

// Config describes a local Mesos cluster.
type Config struct {
	// IP the master (and agents) listen on; default 127.0.0.1.
	IP string
	// Port of the master; 0 picks a free one.
	Port int
	// Agents is the number of agents (default 1; 0 is allowed with NoAgents).
	Agents   int
	NoAgents bool
	// Resources and Attributes for every agent, in the agent-flag syntax
	// ("cpus:4;mem:4096;disk:10240", "rack:r1;zone:a").
	Resources  string
	Attributes string
	// PerAgent overrides fields for agent i (0-based); empty fields keep
	// the cluster-wide value.
	PerAgent map[int]AgentOverride
	// Hostnames of the agents (default local-agent-1..N).
	Hostnames []string
	// WorkDir holds the agents' sandboxes (default: a temporary directory,
	// removed when the cluster closes).
	WorkDir string
	// AllocationInterval (default 1 s) and HeartbeatInterval (default 15 s)
	// of the master.
	AllocationInterval time.Duration
	HeartbeatInterval  time.Duration
	// MaxCompletedTasksPerFramework and MaxCompletedFrameworks bound what
	// the master keeps of finished work, as the Mesos master flags of those
	// names (0: Mesos' defaults, 1000 and 50; negative: keep none).
	MaxCompletedTasksPerFramework int
	MaxCompletedFrameworks        int
	// Simulated runs tasks without processes (for scale tests).
	Simulated bool
	// SwitchUser: agents running as root run each executor, or command
	// task, as its user (CommandInfo.user, else FrameworkInfo.user), as a
	// Mesos agent does by default (agent.Config.SwitchUser).
	SwitchUser bool
	// Credentials turns on HTTP basic authentication on the master.
	Credentials map[string]string
	// Logger for the master and agents (default: discard).
	Logger *slog.Logger

	// fakeAgents replaces the agents with in-memory fakes (master tests).
	fakeAgents bool
}

// AgentOverride holds per-agent settings.
type AgentOverride struct {
	Resources  string
	Attributes string
	Hostname   string
}

// DefaultResources is what an agent has when Config.Resources is empty.
const DefaultResources = "cpus:4;mem:4096;disk:10240"

// Cluster is a running local Mesos.
type Cluster struct {
	cfg    Config
	addr   string
	proxy  *masterProxy
	mu     sync.Mutex
	master *master.Master
	srv    *http.Server
	agents []*Agent
	closed bool
	// tempWorkDir is the work directory Start made because none was
	// configured; Close removes it.
	tempWorkDir string
}

// masterProxy is the link.Master agents talk to; it follows the current
// master across RestartMaster. An agent restarting (RestartAgent) does not
// tell the master it is gone: a Mesos master notices a dead agent only after
// its health checks time out (agent_ping_timeout × max_agent_ping_timeouts,
// 75 s by default), and an agent that restarts within that time simply
// re-registers with its tasks, which keep running.
type masterProxy struct {
	cur        atomic.Pointer[master.Master]
	mu         sync.Mutex
	restarting map[string]bool // agent IDs
}

func (p *masterProxy) setRestarting(id mesos.AgentID, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.restarting == nil {
		p.restarting = map[string]bool{}
	}
	if on {
		p.restarting[id.Value] = true
	} else {
		delete(p.restarting, id.Value)
	}
}

var (
	_ link.Master            = (*masterProxy)(nil)
	_ link.TaskStateNotifier = (*masterProxy)(nil)
)

func (p *masterProxy) TaskTerminated(a mesos.AgentID, f mesos.FrameworkID, t mesos.TaskID, s mesos.TaskState) {
	p.cur.Load().TaskTerminated(a, f, t, s)
}

func (p *masterProxy) RegisterAgent(a link.Agent, info mesos.AgentInfo, tasks []mesos.Task, execs []link.ExecutorRef) (mesos.AgentID, error) {
	return p.cur.Load().RegisterAgent(a, info, tasks, execs)
}
func (p *masterProxy) AgentGone(id mesos.AgentID) {
	p.mu.Lock()
	restarting := p.restarting[id.Value]
	p.mu.Unlock()
	if !restarting {
		p.cur.Load().AgentGone(id)
	}
}
func (p *masterProxy) StatusUpdate(a mesos.AgentID, f mesos.FrameworkID, s mesos.TaskStatus, l mesos.TaskState) {
	p.cur.Load().StatusUpdate(a, f, s, l)
}
func (p *masterProxy) ExecutorMessage(a mesos.AgentID, f mesos.FrameworkID, e mesos.ExecutorID, d []byte) {
	p.cur.Load().ExecutorMessage(a, f, e, d)
}
func (p *masterProxy) ExecutorTerminated(a mesos.AgentID, f mesos.FrameworkID, e mesos.ExecutorID, custom bool, ws int32) {
	p.cur.Load().ExecutorTerminated(a, f, e, custom, ws)
}

// Start starts the master on IP:Port and the agents.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Agents < 0 {
		return nil, fmt.Errorf("start local mesos: agents must not be negative, got %d", cfg.Agents)
	}
	if cfg.Agents == 0 && !cfg.NoAgents {
		cfg.Agents = 1
	}
	if cfg.Resources == "" {
		cfg.Resources = DefaultResources
	}
	if len(cfg.Hostnames) > 0 && len(cfg.Hostnames) != cfg.Agents {
		return nil, fmt.Errorf("start local mesos: %d hostnames given for %d agents", len(cfg.Hostnames), cfg.Agents)
	}
	for i := range cfg.PerAgent {
		if i < 0 || i >= cfg.Agents {
			return nil, fmt.Errorf("start local mesos: override for agent %d, but there are %d agents", i, cfg.Agents)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("start local mesos: port %d out of range", cfg.Port)
	}
	tempWorkDir := ""
	if cfg.WorkDir == "" && !cfg.Simulated && !cfg.fakeAgents && cfg.Agents > 0 {
		dir, err := os.MkdirTemp("", "mesos-local-")
		if err != nil {
			return nil, fmt.Errorf("start local mesos: work dir: %w", err)
		}
		cfg.WorkDir, tempWorkDir = dir, dir
	}
	l, err := net.Listen("tcp", net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port)))
	if err != nil {
		if tempWorkDir != "" {
			_ = os.Remove(tempWorkDir)
		}
		return nil, fmt.Errorf("start local mesos: listen: %w", err)
	}
	c := &Cluster{cfg: cfg, addr: l.Addr().String(), proxy: &masterProxy{}, tempWorkDir: tempWorkDir}
	c.startMaster(l)
	for i := 0; i < cfg.Agents; i++ {
		a, err := c.newAgent(ctx, i)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("start local mesos: agent %d: %w", i+1, err)
		}
		c.agents = append(c.agents, a)
	}
	return c, nil
}

func (c *Cluster) startMaster(l net.Listener) {
	m := master.New(master.Config{
		Address: c.addr, AllocationInterval: c.cfg.AllocationInterval, HeartbeatInterval: c.cfg.HeartbeatInterval,
		Credentials: c.cfg.Credentials, Logger: c.cfg.Logger,
		MaxCompletedTasksPerFramework: c.cfg.MaxCompletedTasksPerFramework, MaxCompletedFrameworks: c.cfg.MaxCompletedFrameworks,
	})
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	c.master, c.srv = m, srv
	c.proxy.cur.Store(m)
}

// hostname returns agent i's hostname.
func (c *Cluster) hostname(i int) string {
	if o, ok := c.cfg.PerAgent[i]; ok && o.Hostname != "" {
		return o.Hostname
	}
	if len(c.cfg.Hostnames) > 0 {
		return c.cfg.Hostnames[i]
	}
	return fmt.Sprintf("local-agent-%d", i+1)
}

func (c *Cluster) agentFlags(i int) (resources, attributes string) {
	resources, attributes = c.cfg.Resources, c.cfg.Attributes
	if o, ok := c.cfg.PerAgent[i]; ok {
		if o.Resources != "" {
			resources = o.Resources
		}
		if o.Attributes != "" {
			attributes = o.Attributes
		}
	}
	return resources, attributes
}

// MasterURL is the master's base URL, e.g. http://127.0.0.1:5050.
func (c *Cluster) MasterURL() string { return "http://" + c.addr }

// WorkDir is the directory holding the agents' sandboxes ("" when none is
// needed: simulated or fake agents without a configured directory). One
// Start made because none was configured is removed by Close.
func (c *Cluster) WorkDir() string { return c.cfg.WorkDir }

// MasterAddr is the master's host:port.
func (c *Cluster) MasterAddr() string { return c.addr }

// Master returns the current master.
func (c *Cluster) Master() *master.Master {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.master
}

// Agents returns the agents in start order.
func (c *Cluster) Agents() []*Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Agent(nil), c.agents...)
}

func (c *Cluster) agent(i int) (*Agent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.agents) {
		return nil, fmt.Errorf("no agent %d (there are %d)", i, len(c.agents))
	}
	return c.agents[i], nil
}

// KillAgent stops agent i abruptly; the master treats it as removed:
// RESCIND of its offers, TASK_LOST/UNREACHABLE for its tasks, FAILURE.
func (c *Cluster) KillAgent(i int) error {
	a, err := c.agent(i)
	if err != nil {
		return fmt.Errorf("kill agent: %w", err)
	}
	id := a.ID()
	a.kill()
	c.proxy.AgentGone(id) // the agent reports it too; this makes it synchronous
	return nil
}

// RestartAgent restarts agent i (after KillAgent, or while running); it
// re-registers with its old ID and its surviving tasks. A running agent's
// restart is not reported to the master as the agent being gone (see
// masterProxy): its tasks are not marked unreachable.
func (c *Cluster) RestartAgent(i int) error {
	a, err := c.agent(i)
	if err != nil {
		return fmt.Errorf("restart agent: %w", err)
	}
	id := a.ID()
	c.proxy.setRestarting(id, true)
	defer c.proxy.setRestarting(id, false)
	if err := a.restart(context.Background()); err != nil {
		return fmt.Errorf("restart agent %d: %w", i, err)
	}
	return nil
}

// BreakSchedulerStreams closes every framework's subscription stream, like
// a network blip; frameworks must re-subscribe within their failover_timeout.
func (c *Cluster) BreakSchedulerStreams() { c.Master().BreakStreams() }

// RestartMaster replaces the master with a fresh one on the same address,
// as a master failover does: frameworks and offers are forgotten, agents
// re-register with their tasks, and frameworks re-subscribing with their old
// ID are accepted.
func (c *Cluster) RestartMaster() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("restart master: cluster is closed")
	}
	regs := c.master.Registrations()
	_ = c.srv.Close()
	c.master.Close()
	var l net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if l, err = net.Listen("tcp", c.addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("restart master: listen on %s: %w", c.addr, err)
	}
	c.startMaster(l)
	for _, r := range regs {
		if _, err := c.master.RegisterAgent(r.Agent, r.Info, r.Tasks, r.Executors); err != nil {
			return fmt.Errorf("restart master: re-register agent %s: %w", r.Info.Hostname, err)
		}
	}
	return nil
}

// Close stops the agents and the master.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	agents := c.agents
	c.mu.Unlock()
	for _, a := range agents {
		a.close()
	}
	_ = c.srv.Close()
	c.master.Close()
	if c.tempWorkDir != "" {
		if err := removeUnmounted(c.tempWorkDir); err != nil {
			c.cfg.Logger.Warn("work directory left in place", "dir", c.tempWorkDir, "err", err)
		}
	}
}
