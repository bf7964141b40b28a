package localmesos

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/agent"
	"github.com/gleaner-project/gleaner/test/localmesos/master/fakeagent"
)

// Agent is one agent of the cluster: a real local agent, or (in the master's
// own tests) an in-memory fake.
type Agent struct {
	hostname  string
	resources string // the agent --resources value it started with
	real      *agent.Agent
	fake      *fakeagent.Agent
}

// ID returns the agent's ID.
func (a *Agent) ID() mesos.AgentID {
	if a.fake != nil {
		return a.fake.ID()
	}
	return a.real.ID()
}

// Hostname returns the hostname the agent advertises.
func (a *Agent) Hostname() string { return a.hostname }

// Resources returns the agent's --resources value (its own, else the
// cluster-wide one).
func (a *Agent) Resources() string { return a.resources }

// Endpoint returns the agent's host:port ("" for a fake agent).
func (a *Agent) Endpoint() string {
	if a.real == nil {
		return ""
	}
	return a.real.Endpoint()
}

// Local returns the underlying local agent (nil for a fake agent).
func (a *Agent) Local() *agent.Agent { return a.real }

func (c *Cluster) newAgent(ctx context.Context, i int) (*Agent, error) {
	resFlag, attrFlag := c.agentFlags(i)
	res, err := agent.ParseResources(resFlag)
	if err != nil {
		return nil, fmt.Errorf("resources: %w", err)
	}
	attrs, err := agent.ParseAttributes(attrFlag)
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	host := c.hostname(i)
	if c.cfg.fakeAgents {
		port := int32(5051 + i)
		info := mesos.AgentInfo{Hostname: host, Port: &port, Resources: res, Attributes: attrs}
		f := fakeagent.New(c.proxy, info, nil)
		if _, err := f.Register(); err != nil {
			return nil, err
		}
		return &Agent{hostname: host, resources: resFlag, fake: f}, nil
	}
	workDir := ""
	if c.cfg.WorkDir != "" {
		workDir = filepath.Join(c.cfg.WorkDir, fmt.Sprintf("agent-%d", i+1))
	}
	a, err := agent.New(agent.Config{
		Hostname: host, IP: c.cfg.IP, ParsedResources: res, ParsedAttributes: attrs,
		WorkDir: workDir, Master: c.proxy, Simulated: c.cfg.Simulated, Logger: c.cfg.Logger,
		SwitchUser: c.cfg.SwitchUser,
	})
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return &Agent{hostname: host, resources: resFlag, real: a}, nil
}

// kill is a dead host (executors are killed too).
func (a *Agent) kill() {
	if a.real != nil {
		a.real.KillHost()
	}
}

// restart brings the agent back with its ID; a running agent is stopped
// first.
func (a *Agent) restart(ctx context.Context) error {
	if a.fake != nil {
		_, err := a.fake.Register()
		return err
	}
	a.real.Stop()
	// The agent's port may be held for a while by a client socket that got
	// it as its ephemeral port while the agent was down (agents listen on
	// ports the kernel picked, in the ephemeral range); a restarted agent
	// process retries, as a supervisor restarting a Mesos agent would.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := a.real.Restart(ctx)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a *Agent) close() {
	if a.real != nil {
		a.real.Close()
	}
}
