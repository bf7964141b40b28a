package localmesos

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

func postControl(t *testing.T, base, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(base+path, "application/json", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: decode: %v", path, err)
	}
	return resp.StatusCode, body
}

// The control endpoint kills and restarts one agent (its running task is
// reported lost, then known again once the agent is back with the same ID),
// restarts the whole local Mesos (the framework re-subscribes to a new master
// that still knows the task, and a kill reaches the restarted agent), and
// names the agent number it cannot use.
func TestControlRestartsAgentsAndMesos(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 2, Simulated: true})
	ctl := httptest.NewServer(ControlHandler(c))
	defer ctl.Close()
	f := startFramework(t, c, protobufCodec, mesos.FrameworkInfo{FailoverTimeout: ptrF(3600), Capabilities: partitionAware()})
	i := 0
	o := f.awaitOffers(&i)[0]
	f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(simTask("long", o, "1h", "0"))}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
	f.await(&i, "long running", mesostest.IsUpdate("long", mesos.TASK_RUNNING))
	n := 1
	if c.Agents()[1].ID() == o.AgentID {
		n = 2
	}

	// A restart of the running agent keeps the task, and the master does not
	// take the agent for gone meanwhile (no UNREACHABLE, as in Mesos when an
	// agent restarts within its health-check timeout).
	beforeRestart := i
	if code, body := postControl(t, ctl.URL, "/agents/"+strconv.Itoa(n)+"/restart"); code != http.StatusOK || body["id"] != o.AgentID.Value {
		t.Fatalf("restart agent %d: %d %v", n, code, body)
	}
	f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"long": o.AgentID.Value})))
	f.await(&i, "long running after the agent restart", mesostest.IsUpdate("long", mesos.TASK_RUNNING))
	f.None(beforeRestart, 100*time.Millisecond, "UNREACHABLE for a task of a restarting agent", mesostest.IsUpdate("long", mesos.TASK_UNREACHABLE))

	// The whole local Mesos: a new master, the task still known, kill reaches it.
	oldMaster := c.Master().ID()
	if code, body := postControl(t, ctl.URL, "/restart"); code != http.StatusOK {
		t.Fatalf("restart mesos: %d %v", code, body)
	}
	if c.Master().ID() == oldMaster {
		t.Fatal("master ID unchanged after POST /restart")
	}
	f.await(&i, "SUBSCRIBED to the new master", mesostest.IsType(scheduler.Event_SUBSCRIBED))
	f.Call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"long": o.AgentID.Value})))
	f.await(&i, "long known to the new master", mesostest.IsUpdate("long", mesos.TASK_RUNNING))

	// Killing the agent loses the task; restarting it brings the host back.
	if code, body := postControl(t, ctl.URL, "/agents/"+strconv.Itoa(n)+"/kill"); code != http.StatusOK {
		t.Fatalf("kill agent %d: %d %v", n, code, body)
	}
	f.await(&i, "long unreachable", mesostest.IsUpdate("long", mesos.TASK_UNREACHABLE))
	if code, body := postControl(t, ctl.URL, "/agents/"+strconv.Itoa(n)+"/restart"); code != http.StatusOK || body["id"] != o.AgentID.Value {
		t.Fatalf("restart killed agent %d: %d %v", n, code, body)
	}
	f.await(&i, "offers from the restarted agent", func(e *scheduler.Event) bool {
		if e.Type != scheduler.Event_OFFERS {
			return false
		}
		for _, of := range e.Offers.Offers {
			if of.AgentID == o.AgentID {
				return true
			}
		}
		return false
	})

	for _, bad := range []string{"/agents/0/restart", "/agents/3/restart", "/agents/x/kill"} {
		code, body := postControl(t, ctl.URL, bad)
		if code != http.StatusNotFound || body["field"] != "n" || !strings.Contains(body["error"].(string), "from 1 to 2") {
			t.Errorf("POST %s: %d %v, want 404 naming the agent number", bad, code, body)
		}
	}
	if code, _ := postControl(t, ctl.URL, "/nowhere"); code != http.StatusNotFound {
		t.Errorf("POST /nowhere: %d, want 404", code)
	}
}

// A restarting agent whose port is held for a while (by a client socket
// that got it as its ephemeral port while the agent was down) comes back
// once the port is free instead of failing.
func TestRestartAgentWaitsForItsPort(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 1, Simulated: true})
	if err := c.KillAgent(0); err != nil {
		t.Fatal(err)
	}
	// The killed agent's listener closes asynchronously: take its port as
	// soon as it is free.
	var holder net.Listener
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if holder, err = net.Listen("tcp", c.Agents()[0].Endpoint()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hold the agent's port: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // poll: no event tells when the kernel released the port
	}
	time.AfterFunc(300*time.Millisecond, func() { holder.Close() })
	if err := c.RestartAgent(0); err != nil {
		t.Fatalf("restart with the port held for 300ms: %v", err)
	}
}

// Agents are named by number or hostname; GET /agents lists both.
func TestControlAgentsByHostname(t *testing.T) {
	c := startCluster(t, Config{Agents: 2, Hostnames: []string{"h1", "db-2"}})
	ctl := httptest.NewServer(ControlHandler(c))
	defer ctl.Close()
	resp, err := http.Get(ctl.URL + "/agents")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Agents []struct {
			N        int    `json:"n"`
			Hostname string `json:"hostname"`
			ID       string `json:"id"`
		} `json:"agents"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Agents) != 2 || list.Agents[1].N != 2 || list.Agents[1].Hostname != "db-2" || list.Agents[1].ID != c.Agents()[1].ID().Value {
		t.Fatalf("GET /agents: %+v %v", list, err)
	}
	if code, body := postControl(t, ctl.URL, "/agents/db-2/kill"); code != http.StatusOK || body["hostname"] != "db-2" || body["kill"] != 2.0 {
		t.Fatalf("kill db-2: %d %v", code, body)
	}
	waitFor(t, "db-2 gone from the master", func() bool { return len(c.Master().Registrations()) == 1 })
	if code, body := postControl(t, ctl.URL, "/agents/db-2/restart"); code != http.StatusOK || body["id"] != c.Agents()[1].ID().Value {
		t.Fatalf("restart db-2: %d %v", code, body)
	}
	waitFor(t, "db-2 back", func() bool { return len(c.Master().Registrations()) == 2 })
	if code, body := postControl(t, ctl.URL, "/agents/nosuch/kill"); code != http.StatusNotFound || !strings.Contains(body["error"].(string), `agent "nosuch"`) {
		t.Errorf("kill nosuch: %d %v, want 404 naming it", code, body)
	}
}
