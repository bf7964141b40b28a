package localmesos

import (
	"context"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	mcalls "github.com/mesos/mesos-go/api/v1/lib/master/calls"
)

func TestStartRejectsBadConfig(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Agents: -1}, "agents must not be negative"},
		{Config{Agents: 2, Hostnames: []string{"a"}}, "1 hostnames given for 2 agents"},
		{Config{Agents: 1, PerAgent: map[int]AgentOverride{3: {}}}, "override for agent 3"},
		{Config{Agents: 1, Port: 70000}, "port 70000 out of range"},
		{Config{Agents: 1, Resources: "cpus:x", Simulated: true}, "resources"},
		{Config{Agents: 1, Attributes: "novalue", Simulated: true}, "attributes"},
		{Config{Agents: 1, IP: "not-an-ip", Simulated: true}, "listen"},
	}
	for _, c := range cases {
		cl, err := Start(context.Background(), c.cfg)
		if err == nil {
			cl.Close()
			t.Errorf("Start(%+v) succeeded, want error containing %q", c.cfg, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start(%+v) = %v, want error containing %q", c.cfg, err, c.want)
		}
	}
}

func TestPerAgentOverridesAndHostnames(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 3, Simulated: true, Resources: "cpus:2;mem:512", Attributes: "zone:a",
		Hostnames: []string{"h1", "h2", "h3"},
		PerAgent:  map[int]AgentOverride{1: {Resources: "cpus:8;mem:2048", Attributes: "zone:b;gpu:yes", Hostname: "big"}}})
	agents := get(t, operator(c, protobufCodec), mcalls.GetAgents()).GetAgents.Agents
	byHost := map[string]mesos.AgentInfo{}
	for _, a := range agents {
		byHost[a.AgentInfo.Hostname] = a.AgentInfo
	}
	if len(byHost) != 3 || byHost["h1"].Hostname == "" || byHost["big"].Hostname == "" || byHost["h3"].Hostname == "" {
		t.Fatalf("hostnames: %v", byHost)
	}
	cpus := func(info mesos.AgentInfo) float64 {
		for _, r := range info.Resources {
			if r.Name == "cpus" {
				return r.GetScalar().GetValue()
			}
		}
		return 0
	}
	if cpus(byHost["h1"]) != 2 || cpus(byHost["big"]) != 8 {
		t.Errorf("cpus: h1 %v big %v", cpus(byHost["h1"]), cpus(byHost["big"]))
	}
	if n := len(byHost["big"].Attributes); n != 2 {
		t.Errorf("big has %d attributes, want 2", n)
	}
	for i, a := range c.Agents() {
		if a.Endpoint() == "" || a.ID().Value == "" {
			t.Errorf("agent %d: endpoint %q id %q", i, a.Endpoint(), a.ID().Value)
		}
	}
}
