package attrs

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/apikeys"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

type fakeSource []AgentInfo

func (f fakeSource) Agents() []AgentInfo { return f }

type env struct {
	cli   *clientv3.Client
	store *Store
	srv   *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := etcdtest.Start(t)
	cli := etcdtest.NewClient(t, s)
	st := NewStore(cli, "/test/")
	src := fakeSource{{Hostname: "h1", AgentID: "a1", MesosAttrs: map[string]string{"zone": "mesos-zone", "rack": "r1"},
		Resources: placement.Resources{CPUs: 8, Mem: 8192}, Unreserved: placement.Resources{CPUs: 6, Mem: 4096},
		Reserved: placement.Resources{CPUs: 2, Mem: 1024}}}
	guard := auth.Guard{Keyring: auth.NewKeyring(auth.EntryFor("alice", auth.Admin, "s3cret"), auth.EntryFor("bob", auth.Admin, "other"),
		auth.EntryFor("dash", auth.ReadOnly, "reader"))}
	srv := httptest.NewServer(auth.Require(guard, nil, NewHandler(HandlerConfig{Store: st, Source: src})))
	t.Cleanup(srv.Close)
	return &env{cli: cli, store: st, srv: srv}
}

func (e *env) do(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token == "" && method == "GET" {
		token = "reader" // reads need a token too; the read-only one suffices
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: non-JSON answer %d %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func TestAttributesHTTP(t *testing.T) {
	e := newEnv(t)
	const p = "/v1/agents/h1/attributes"

	code, m := e.do(t, "GET", p, "", "")
	if code != 200 || len(m["attributes"].(map[string]any)) != 0 {
		t.Fatalf("empty get: %d %v", code, m)
	}
	if code, m = e.do(t, "PUT", p, "", `{"zone":"a"}`); code != 401 || m["error"] == "" {
		t.Fatalf("no token: %d %v", code, m)
	}
	if code, _ = e.do(t, "PUT", p, "wrong", `{"zone":"a"}`); code != 401 {
		t.Fatalf("bad token: %d", code)
	}
	if code, m = e.do(t, "PUT", p, "s3cret", `{"zone":"a","ssd":"true"}`); code != 200 || m["who"] != "alice" {
		t.Fatalf("put: %d %v", code, m)
	}
	if code, m = e.do(t, "PATCH", p, "other", `{"zone":"b","ssd":null,"gpu":"a100"}`); code != 200 || m["who"] != "bob" {
		t.Fatalf("patch: %d %v", code, m)
	}
	code, m = e.do(t, "GET", p, "", "")
	got := m["attributes"].(map[string]any)
	if code != 200 || len(got) != 2 || got["zone"] != "b" || got["gpu"] != "a100" {
		t.Fatalf("after patch: %v", got)
	}
	rev := m["revision"]

	// Bad edits: 400 naming the field, and nothing changes.
	bad := []struct{ method, path, body, field string }{
		{"PUT", p, `{"Zone":"a"}`, "attributes.Zone"},
		{"PUT", p, `{"zone":"` + strings.Repeat("v", 300) + `"}`, "attributes.zone"},
		{"PUT", p, `{"zone":"a\u0007"}`, "attributes.zone"},
		{"PUT", p, `{"zone":1}`, "body"},
		{"PUT", p, `["zone"]`, "body"},
		{"PUT", p, `null`, "body"},
		{"PATCH", p, `{"ok":"1","bad key":"x"}`, "attributes.bad key"},
		{"PATCH", p, `{"hostname":"x"}`, "attributes.hostname"},
		{"PUT", "/v1/agents/bad%20host/attributes", `{"zone":"a"}`, "hostname"},
		{"DELETE", p + "/Bad", ``, "key"},
	}
	for _, b := range bad {
		code, m := e.do(t, b.method, b.path, "s3cret", b.body)
		if code != 400 || m["field"] != b.field || m["error"] == "" {
			t.Errorf("%s %s %s: %d %v, want 400 field %s", b.method, b.path, b.body, code, m, b.field)
		}
	}
	if code, m = e.do(t, "DELETE", p+"/nope", "s3cret", ""); code != 404 {
		t.Fatalf("delete missing: %d %v", code, m)
	}
	if _, m = e.do(t, "GET", p, "", ""); m["revision"] != rev {
		t.Fatalf("bad edits changed the revision: %v → %v", rev, m["revision"])
	}

	if code, m = e.do(t, "DELETE", p+"/gpu", "s3cret", ""); code != 200 {
		t.Fatalf("delete: %d %v", code, m)
	}
	// Keys with a slash go through the {key...} route.
	if code, _ = e.do(t, "PATCH", p, "s3cret", `{"rack/row":"7"}`); code != 200 {
		t.Fatal(code)
	}
	if code, _ = e.do(t, "DELETE", p+"/rack/row", "s3cret", ""); code != 200 {
		t.Fatal(code)
	}

	// History: every change, who, old → new; bad edits left no trace.
	code, m = e.do(t, "GET", p+"/history", "", "")
	changes := m["changes"].([]any)
	if code != 200 || len(changes) != 5 {
		t.Fatalf("history: %d %d changes: %v", code, len(changes), m)
	}
	want := []struct{ who, op string }{{"alice", "put"}, {"bob", "patch"}, {"alice", "delete"}, {"alice", "patch"}, {"alice", "delete"}}
	for i, w := range want {
		c := changes[i].(map[string]any)
		if c["who"] != w.who || c["op"] != w.op {
			t.Fatalf("change %d: %v", i, c)
		}
	}
	second := changes[1].(map[string]any)["diffs"].([]any)
	if len(second) != 3 {
		t.Fatalf("patch diffs: %v", second)
	}
	// sorted by key: gpu (added), ssd (removed), zone (a → b)
	d0, d1, d2 := second[0].(map[string]any), second[1].(map[string]any), second[2].(map[string]any)
	if d0["key"] != "gpu" || d0["old"] != nil || d0["new"] != "a100" || d1["key"] != "ssd" || d1["new"] != nil || d2["old"] != "a" || d2["new"] != "b" {
		t.Fatalf("diffs %v", second)
	}
	if _, m = e.do(t, "GET", p+"/history?limit=2", "", ""); len(m["changes"].([]any)) != 2 {
		t.Fatalf("limit: %v", m)
	}
	if code, m = e.do(t, "GET", p+"/history?limit=x", "", ""); code != 400 || m["field"] != "limit" {
		t.Fatalf("bad limit: %d %v", code, m)
	}
}

func TestInsecureWritesAreAnonymous(t *testing.T) {
	s := etcdtest.Start(t)
	st := NewStore(etcdtest.NewClient(t, s), "")
	srv := httptest.NewServer(auth.Require(auth.Guard{Insecure: true}, nil, NewHandler(HandlerConfig{Store: st})))
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/v1/agents/h9/attributes?allow-unknown=true", strings.NewReader(`{"zone":"a"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	h, err := st.History(context.Background(), "h9", 0)
	if err != nil || len(h) != 1 || h[0].Who != "anonymous" {
		t.Fatalf("%v %+v", err, h)
	}
	// The key layout others rely on.
	r, err := etcdtest.NewClient(t, s).Get(context.Background(), "/gleaner/agents/h9/attributes")
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != `{"zone":"a"}` {
		t.Fatalf("stored %v %v", err, r)
	}
}

func TestAgentsList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.store.Put(ctx, "h1", map[string]string{"zone": "etcd-zone", "disk_type": "ssd"}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Put(ctx, "h2", map[string]string{"gpu": "yes"}, "t"); err != nil {
		t.Fatal(err)
	}
	lease, err := e.cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.Put(ctx, "/test/monitors/h1", `{"at":"2026-01-01T00:00:00Z","cpu_idle":0.7}`, clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	code, m := e.do(t, "GET", "/v1/agents", "", "")
	agents := m["agents"].([]any)
	if code != 200 || len(agents) != 2 {
		t.Fatalf("%d %v", code, m)
	}
	h1, h2 := agents[0].(map[string]any), agents[1].(map[string]any)
	if h1["hostname"] != "h1" || h1["agentId"] != "a1" {
		t.Fatalf("h1 %v", h1)
	}
	merged := h1["attributes"].(map[string]any)
	if merged["zone"] != "etcd-zone" || merged["rack"] != "r1" || h1["mesosAttributes"].(map[string]any)["zone"] != "mesos-zone" {
		t.Fatalf("merge (etcd wins): %v", h1)
	}
	if merged["disk_type"] != "ssd" || h1["etcdAttributes"].(map[string]any)["disk_type"] != "ssd" {
		t.Fatalf("an attribute's name is data, kept as it is: %v", h1)
	}
	// The monitor's heartbeat is stored snake_case; the API shows it camelCase.
	if h1["monitorSilent"] != false || h1["monitor"].(map[string]any)["cpuIdle"] != 0.7 {
		t.Fatalf("monitor %v", h1["monitor"])
	}
	if h1["reserved"].(map[string]any)["cpus"] != 2.0 || h1["resources"].(map[string]any)["mem"] != 8192.0 {
		t.Fatalf("resources %v", h1)
	}
	if h2["hostname"] != "h2" || h2["monitorSilent"] != true || h2["monitor"] != nil {
		t.Fatalf("h2 %v", h2)
	}
	if code, m = e.do(t, "GET", "/v1/agents/h2", "", ""); code != 200 || m["hostname"] != "h2" {
		t.Fatalf("one agent: %d %v", code, m)
	}
	// One key style: no snake_case key anywhere but in attribute names.
	b, _ := json.Marshal(m)
	if bad, err := apikeys.SnakeKeys(b, attributeMaps); err != nil || len(bad) != 0 {
		t.Fatalf("keys not camelCase: %v %v in %s", bad, err, b)
	}
	// ?keys=snake: the keys of the release before, deprecated.
	code, m = e.do(t, "GET", "/v1/agents?keys=snake", "", "")
	old := m["agents"].([]any)[0].(map[string]any)
	if code != 200 || old["agent_id"] != "a1" || old["mesos_attributes"].(map[string]any)["zone"] != "mesos-zone" ||
		old["etcd_attributes"].(map[string]any)["disk_type"] != "ssd" || old["monitor_silent"] != false ||
		old["monitor"].(map[string]any)["cpu_idle"] != 0.7 || old["agentId"] != nil {
		t.Fatalf("keys=snake: %d %v", code, old)
	}
	if code, m = e.do(t, "GET", "/v1/agents/h1?keys=snake", "", ""); code != 200 || m["agent_id"] != "a1" {
		t.Fatalf("one agent, keys=snake: %d %v", code, m)
	}
	if code, m = e.do(t, "GET", "/v1/agents?keys=kebab", "", ""); code != 400 || m["field"] != "keys" {
		t.Fatalf("keys=kebab: %d %v", code, m)
	}
	if code, m = e.do(t, "GET", "/v1/agents/h7", "", ""); code != 404 || m["field"] != "hostname" {
		t.Fatalf("unknown agent: %d %v", code, m)
	}
	// Monitor lease expiry → silent.
	if _, err := e.cli.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	_, m = e.do(t, "GET", "/v1/agents/h1", "", "")
	if m["monitorSilent"] != true {
		t.Fatalf("after revoke %v", m)
	}
}

// A client of this release reads an agent from a scheduler of the release
// before (snake_case keys) as well as from this one.
func TestAgentViewReadsBothKeyStyles(t *testing.T) {
	for _, body := range []string{
		`{"hostname":"h1","agent_id":"a1","mesos_attributes":{"rack_id":"r1"},"etcd_attributes":{},"monitor_silent":true,"last_offer":"2026-01-01T00:00:00Z","monitor":{"last_error":"x"}}`,
		`{"hostname":"h1","agentId":"a1","mesosAttributes":{"rack_id":"r1"},"etcdAttributes":{},"monitorSilent":true,"lastOffer":"2026-01-01T00:00:00Z","monitor":{"lastError":"x"}}`,
	} {
		var v AgentView
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if v.AgentID != "a1" || v.MesosAttrs["rack_id"] != "r1" || !v.MonitorSilent || v.LastOffer.IsZero() || string(v.Monitor) != `{"lastError":"x"}` {
			t.Fatalf("%s: %+v", body, v)
		}
	}
}

func TestWatcher(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := e.store.Put(ctx, "h1", map[string]string{"zone": "a"}, "t"); err != nil {
		t.Fatal(err)
	}
	w := NewWatcher(e.store, nil)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-w.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("watcher not ready")
	}
	if w.Attrs("h1")["zone"] != "a" {
		t.Fatalf("initial %v", w.Attrs("h1"))
	}
	w.TakeChanged()
	// await a condition on the watcher, woken by its notifications
	await := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for !cond() {
			select {
			case <-w.Changed():
			case <-time.After(50 * time.Millisecond):
			case <-deadline:
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	if _, err := e.store.Patch(ctx, "h2", map[string]*string{"gpu": ptr("yes")}, "t"); err != nil {
		t.Fatal(err)
	}
	await("h2 gpu", func() bool { return w.Attrs("h2")["gpu"] == "yes" })
	if _, err := e.store.Delete(ctx, "h1", "zone", "t"); err != nil {
		t.Fatal(err)
	}
	await("h1 emptied", func() bool { return w.Attrs("h1") == nil })
	ch := w.TakeChanged()
	if strings.Join(sorted(ch), ",") != "h1,h2" {
		t.Fatalf("changed %v", ch)
	}
	if _, err := e.cli.Put(ctx, "/test/monitors/h2", `{"ok":true}`); err != nil {
		t.Fatal(err)
	}
	await("monitor", func() bool { _, ok := w.Monitor("h2"); return ok })
	if len(w.All()) != 1 {
		t.Fatalf("all %v", w.All())
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

func ptr(s string) *string { return &s }

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestHistoryIsBounded(t *testing.T) {
	e := newEnv(t)
	e.store.MaxHistory = 3
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		if _, err := e.store.Put(ctx, "h1", map[string]string{"n": string(rune('a' + i))}, "t"); err != nil {
			t.Fatal(err)
		}
	}
	h, err := e.store.History(ctx, "h1", 0)
	if err != nil || len(h) != 3 {
		t.Fatalf("%v %d", err, len(h))
	}
	if *h[0].Diffs[0].New != "d" || *h[2].Diffs[0].New != "f" {
		t.Fatalf("kept %v .. %v", *h[0].Diffs[0].New, *h[2].Diffs[0].New)
	}
	// Another host's history is untouched by the pruning.
	if _, err := e.store.Put(ctx, "h10", map[string]string{"n": "x"}, "t"); err != nil {
		t.Fatal(err)
	}
	if h, _ := e.store.History(ctx, "h10", 0); len(h) != 1 {
		t.Fatalf("h10 %d", len(h))
	}
	if h, _ := e.store.History(ctx, "h1", 0); len(h) != 3 {
		t.Fatalf("h1 %d", len(h))
	}
}

// Without a guard in front, writes are refused: the handler fails closed.
func TestWritesWithoutAGuardAreRefused(t *testing.T) {
	st := NewStore(etcdtest.NewClient(t, etcdtest.Start(t)), "")
	srv := httptest.NewServer(NewHandler(HandlerConfig{Store: st, Source: fakeSource{{Hostname: "h1"}}}))
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/v1/agents/h1/attributes", strings.NewReader(`{"zone":"a"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unguarded write: %d", resp.StatusCode)
	}
}

// Issue 10 finding 8: a typo'd hostname made a phantom agent row; an
// oversized body got 400, not 413.
func TestUnknownHostsAndOversizedBodies(t *testing.T) {
	e := newEnv(t)
	code, m := e.do(t, "PATCH", "/v1/agents/h1-typo/attributes", "s3cret", `{"zone":"a"}`)
	if code != 404 || m["field"] != "hostname" || !strings.Contains(m["error"].(string), `"h1-typo"`) {
		t.Fatalf("unknown host: %d %v", code, m)
	}
	if got, _, _ := e.store.List(context.Background()); len(got) != 0 {
		t.Fatalf("a phantom row was written: %v", got)
	}
	if code, m = e.do(t, "PUT", "/v1/agents/h1-typo/attributes?allow-unknown=true", "s3cret", `{"zone":"a"}`); code != 200 {
		t.Fatalf("allow-unknown: %d %v", code, m)
	}
	// A monitor heartbeat makes a host known.
	if _, err := e.cli.Put(context.Background(), e.store.MonitorsPrefix()+"h7", `{}`); err != nil {
		t.Fatal(err)
	}
	if code, m = e.do(t, "PATCH", "/v1/agents/h7/attributes", "s3cret", `{"zone":"a"}`); code != 200 {
		t.Fatalf("host with a monitor: %d %v", code, m)
	}
	// Read-only tokens read, and cannot write.
	if code, _ = e.do(t, "GET", "/v1/agents/h7/attributes/history", "reader", ""); code != 200 {
		t.Fatalf("read-only history: %d", code)
	}
	if code, _ = e.do(t, "PATCH", "/v1/agents/h7/attributes", "reader", `{"zone":"b"}`); code != 403 {
		t.Fatalf("read-only write: %d", code)
	}
	big := `{"k":"` + strings.Repeat("x", maxBody) + `"}`
	if code, m = e.do(t, "PUT", "/v1/agents/h1/attributes", "s3cret", big); code != 413 || m["field"] != "body" {
		t.Fatalf("oversized body: %d %v", code, m)
	}
}
