package localmesos

import (
	"context"
	"fmt"
	"sync"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/agent"
	"github.com/gleaner-project/gleaner/test/localmesos/master/fakeagent"
)

// Agent is one agent of the cluster.
type Agent struct {
	hostname string
	endpoint string
	mu       sync.Mutex
	fake     *fakeagent.Agent
	dead     bool
}

// ID returns the agent's ID.
func (a *Agent) ID() mesos.AgentID { return a.fake.ID() }

// Hostname returns the hostname the agent advertises.
func (a *Agent) Hostname() string { return a.hostname }

// Endpoint returns the agent's host:port ("" when it serves no HTTP).
func (a *Agent) Endpoint() string { return a.endpoint }

func (c *Cluster) newAgent(_ context.Context, i int) (*Agent, error) {
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
	port := int32(5051 + i)
	info := mesos.AgentInfo{Hostname: host, Port: &port, Resources: res, Attributes: attrs}
	f := fakeagent.New(c.proxy, info, nil)
	if _, err := f.Register(); err != nil {
		return nil, err
	}
	return &Agent{hostname: host, fake: f}, nil
}

func (a *Agent) kill() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dead = true
	return nil
}

func (a *Agent) restart() error {
	a.mu.Lock()
	a.dead = false
	a.mu.Unlock()
	_, err := a.fake.Register()
	return err
}

func (a *Agent) stop() error { return nil }
