package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/framework"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// serveNodeAPI serves n's API as `gleaner scheduler` does (attributes
// mounted, authentication on) and returns its URL.
func serveNodeAPI(t *testing.T, n *node.Node, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	agents := attrs.NewHandler(attrs.HandlerConfig{Store: n.Attrs(), Source: n, Log: testLogger(t)})
	var h http.Handler = api.Handler(n, api.Config{Auth: e2eGuard(), Logger: testLogger(t),
		Mount: map[string]http.Handler{"/v1/agents": agents, "/v1/agents/": agents}})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// rawCall does one request without following redirects.
func rawCall(t *testing.T, method, url, authz, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

// Issue 10 findings 1–3 and 8 and issue 17 on real scheduler nodes: a
// leader and a standby, each serving the API with authentication on.
func TestAPIAuthenticationStandbyAndHealth(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 1})
	var leaderURL, standbyURL string
	a, _ := env.startNode("a", func(c *node.Config) { c.AdvertiseURL = "http://leader.invalid" })
	waitFor(t, "a to lead", 10*time.Second, a.IsLeader)
	leaderURL = serveNodeAPI(t, a, nil)
	b, _ := env.startNode("b")
	standbyURL = serveNodeAPI(t, b, nil)

	admin, reader := "Bearer "+e2eAdminToken, "Bearer "+e2eReaderToken
	resp, m := rawCall(t, "POST", leaderURL+"/v1/jobs", "bearer "+e2eAdminToken, "name: one\ntasks: [{name: a, command: 'echo hi'}]")
	if resp.StatusCode != 201 {
		t.Fatalf("submit with a lowercase bearer: %d %v", resp.StatusCode, m)
	}
	id := m["id"].(string)
	host := env.mesos.Agents()[0].Hostname()
	for _, p := range []string{"/v1/jobs", "/v1/jobs/" + id, "/v1/jobs/" + id + "/tasks/a/instances/0",
		"/v1/jobs/" + id + "/tasks/a/instances/0/logs", "/v1/agents", "/v1/agents/" + host + "/attributes/history", "/metrics"} {
		for _, base := range []string{leaderURL, standbyURL} {
			if resp, m := rawCall(t, "GET", base+p, "", ""); resp.StatusCode != 401 {
				t.Errorf("anonymous GET %s%s: %d %v", base, p, resp.StatusCode, m)
			}
		}
		if resp, m := rawCall(t, "GET", leaderURL+p, reader, ""); resp.StatusCode == 401 || resp.StatusCode == 403 {
			t.Errorf("read-only GET %s: %d %v", p, resp.StatusCode, m)
		}
	}
	if resp, _ := rawCall(t, "POST", leaderURL+"/v1/jobs", "", "name: x\ntasks: [{name: a, command: 'true'}]"); resp.StatusCode != 401 {
		t.Errorf("anonymous submit: %d", resp.StatusCode)
	}
	if resp, _ := rawCall(t, "POST", leaderURL+"/v1/jobs", reader, "name: x\ntasks: [{name: a, command: 'true'}]"); resp.StatusCode != 403 {
		t.Errorf("read-only submit: %d", resp.StatusCode)
	}
	// Attribute edits: the token's name is recorded; typos and oversized bodies refused.
	if resp, m := rawCall(t, "PATCH", leaderURL+"/v1/agents/"+host+"/attributes", admin, `{"rack":"r9"}`); resp.StatusCode != 200 {
		t.Fatalf("attribute edit: %d %v", resp.StatusCode, m)
	}
	hist, err := a.Attrs().History(context.Background(), host, 0)
	if err != nil || len(hist) != 1 || hist[0].Who != "admin" {
		t.Fatalf("history: %+v %v", hist, err)
	}
	if resp, m := rawCall(t, "PATCH", leaderURL+"/v1/agents/"+host+"x/attributes", admin, `{"rack":"r9"}`); resp.StatusCode != 404 || !strings.Contains(m["error"].(string), host+"x") {
		t.Errorf("unknown host: %d %v", resp.StatusCode, m)
	}
	if resp, m := rawCall(t, "PUT", leaderURL+"/v1/agents/"+host+"/attributes", admin, `{"k":"`+strings.Repeat("x", 70<<10)+`"}`); resp.StatusCode != 413 {
		t.Errorf("oversized attributes: %d %v", resp.StatusCode, m)
	}

	// The standby redirects the 1 MB "!!!…a" depends without parsing it, and lives.
	bomb := "name: bomb\ntasks: [{name: a, command: 'true'}, {name: b, command: 'true', depends: '" + strings.Repeat("!", 1<<20) + "a'}]"
	resp, m = rawCall(t, "POST", standbyURL+"/v1/jobs", admin, bomb)
	if resp.StatusCode != 307 || resp.Header.Get("Location") != "http://leader.invalid/v1/jobs" {
		t.Fatalf("standby submit: %d %v", resp.StatusCode, m)
	}
	if resp, m := rawCall(t, "GET", standbyURL+"/healthz", "", ""); resp.StatusCode != 200 || m["leader"] != false || m["leaderURL"] != "http://leader.invalid" || m["auth"] != "on" {
		t.Fatalf("standby healthz after the bomb: %d %v", resp.StatusCode, m)
	}
	if resp, m := rawCall(t, "GET", leaderURL+"/healthz", "", ""); m["leader"] != true || m["leaderURL"] != "http://leader.invalid" {
		t.Fatalf("leader healthz: %d %v", resp.StatusCode, m)
	}
	if !b.IsLeader() && b.LeaderURL(context.Background()) == "" {
		t.Fatal("standby lost track of the leader")
	}
}

// Issue 17: `gleaner job submit` against a scheduler whose election has
// not happened yet waits for the leader instead of failing.
func TestCLIWaitsForTheLeader(t *testing.T) {
	bin := execGleanerBinary(t)
	env := newSchedEnv(t, localmesos.Config{Agents: 1})
	cli := env.client()
	n := node.New(node.Config{Prefix: env.prefix, AdvertiseURL: "http://self.invalid", LeaseTTL: 2, Logger: testLogger(t),
		Framework: framework.Config{Masters: []string{env.mesos.MasterURL()}, RefuseSeconds: time.Second}}, cli)
	var noLeader atomic.Int32
	url := serveNodeAPI(t, n, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !n.IsLeader() {
				noLeader.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	spec := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(spec, []byte("name: waited\ntasks: [{name: a, command: 'true'}]"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "job", "submit", "--api", url, "--token", e2eAdminToken, "--timeout", "50s", "-f", spec)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "GLEANER_TOKEN=")
	out := make(chan []byte, 1)
	errc := make(chan error, 1)
	go func() { b, err := cmd.CombinedOutput(); out <- b; errc <- err }()
	waitFor(t, "the CLI to find no leader", 20*time.Second, func() bool { return noLeader.Load() >= 2 })
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })
	b, err := <-out, <-errc
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(b)), "waited-") {
		t.Fatalf("submit: %v\n%s", err, b)
	}
}
