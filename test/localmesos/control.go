package localmesos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Restart restarts the whole local Mesos as its daemons restarting on the
// same host would: the master fails over (RestartMaster: frameworks and
// offers forgotten, agents re-registered with their tasks and
// reservations), then every agent process restarts and recovers as from its
// checkpoint (Agent.Restart: same ID and address, executors given
// ExecutorReregistrationTimeout to re-subscribe, unacknowledged status
// updates resent). Executors and their tasks keep running throughout, as a
// checkpointing framework's do in Mesos.
func (c *Cluster) Restart() error {
	if err := c.RestartMaster(); err != nil {
		return err
	}
	for i := range c.Agents() {
		if err := c.RestartAgent(i); err != nil {
			return err
		}
	}
	return nil
}

// ControlHandler serves fault injection for tests that drive a local Mesos
// from outside its process (`gleaner mesos-local --control-listen`):
//
//	GET  /agents               list the agents: number, hostname, id, state
//	POST /agents/{n}/restart   restart agent n (1-based, as mesos-local lists them, or its hostname)
//	POST /agents/{n}/kill      kill agent n as a dead host (its executors too)
//	POST /restart              restart the master and every agent (Cluster.Restart)
//
// It has no authentication: serve it on loopback only.
func ControlHandler(c *Cluster) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /agents", func(w http.ResponseWriter, _ *http.Request) {
		type row struct {
			N        int    `json:"n"`
			Hostname string `json:"hostname"`
			ID       string `json:"id"`
			Endpoint string `json:"endpoint,omitempty"`
		}
		var rows []row
		for i, a := range c.Agents() {
			rows = append(rows, row{N: i + 1, Hostname: a.Hostname(), ID: a.ID().Value, Endpoint: a.Endpoint()})
		}
		writeControl(w, http.StatusOK, map[string]any{"agents": rows})
	})
	mux.HandleFunc("POST /agents/{n}/restart", func(w http.ResponseWriter, r *http.Request) {
		controlAgent(w, r, c, "restart", c.RestartAgent)
	})
	mux.HandleFunc("POST /agents/{n}/kill", func(w http.ResponseWriter, r *http.Request) {
		controlAgent(w, r, c, "kill", c.KillAgent)
	})
	mux.HandleFunc("POST /restart", func(w http.ResponseWriter, _ *http.Request) {
		if err := c.Restart(); err != nil {
			writeControl(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeControl(w, http.StatusOK, map[string]any{"restarted": "mesos", "agents": len(c.Agents())})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeControl(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return mux
}

func controlAgent(w http.ResponseWriter, r *http.Request, c *Cluster, verb string, act func(int) error) {
	agents := c.Agents()
	n, ok := agentNumber(agents, r.PathValue("n"))
	if !ok {
		writeControl(w, http.StatusNotFound, map[string]string{
			"error": fmt.Sprintf("agent %q: want a number from 1 to %d or an agent's hostname", r.PathValue("n"), len(agents)), "field": "n"})
		return
	}
	if err := act(n - 1); err != nil {
		writeControl(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	a := agents[n-1]
	writeControl(w, http.StatusOK, map[string]any{verb: n, "hostname": a.Hostname(), "id": a.ID().Value})
}

// agentNumber finds an agent by its 1-based number or its hostname.
func agentNumber(agents []*Agent, ref string) (int, bool) {
	if n, err := strconv.Atoi(ref); err == nil {
		return n, n >= 1 && n <= len(agents)
	}
	for i, a := range agents {
		if a.Hostname() == ref {
			return i + 1, true
		}
	}
	return 0, false
}

func writeControl(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
