package localmesos

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpmaster"
	"github.com/mesos/mesos-go/api/v1/lib/master"
	mcalls "github.com/mesos/mesos-go/api/v1/lib/master/calls"
)

// Agents advertise hostnames that need not resolve (local-agent-N); a real
// master puts the agent's IP (from its connection) next to the hostname in
// offers' url and in the agent's pid, so frameworks can reach the agent's
// HTTP endpoints. The local master does the same.
func TestOfferURLAndPIDCarryTheAgentsAddress(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 1})
	ag := c.Agents()[0]
	ip, port, err := net.SplitHostPort(ag.Endpoint())
	if err != nil {
		t.Fatalf("agent endpoint %q: %v", ag.Endpoint(), err)
	}
	f := startFramework(t, c, protobufCodec, mesos.FrameworkInfo{})
	i := 0
	offers := f.awaitOffers(&i)
	u := offers[0].URL
	if u == nil || u.Address.GetIP() != ip || strconv.Itoa(int(u.Address.Port)) != port ||
		u.Address.GetHostname() != ag.Hostname() || u.GetPath() != "/slave(1)" {
		t.Fatalf("offer url = %+v, want ip %s port %s hostname %s path /slave(1)", u, ip, port, ag.Hostname())
	}

	sender := httpmaster.NewSender(httpcli.New(httpcli.Endpoint(c.MasterURL() + "/api/v1")).Send)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := sender.Send(ctx, mcalls.NonStreaming(mcalls.GetAgents()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	var r master.Response
	if err := resp.Decode(&r); err != nil {
		t.Fatal(err)
	}
	agents := r.GetGetAgents().GetAgents()
	if len(agents) != 1 || agents[0].GetPID() != "slave(1)@"+ag.Endpoint() {
		t.Fatalf("GET_AGENTS pid = %v, want slave(1)@%s", agents, ag.Endpoint())
	}
}
