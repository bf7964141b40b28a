package templates_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/scheduler/templates"
)

// backend is a scheduler node as far as the API needs one: it records
// submitted specs, and leads unless told otherwise.
type backend struct {
	mu        sync.Mutex
	submitted []*job.Spec
	standby   atomic.Bool
	leader    atomic.Value // string
	st        store.Store
}

func (b *backend) Submit(_ context.Context, sp *job.Spec) (*job.Job, error) {
	if b.standby.Load() {
		return nil, &node.NotLeaderError{LeaderURL: b.LeaderURL(context.Background())}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.submitted = append(b.submitted, sp)
	return &job.Job{ID: sp.Name + "-0001", Spec: *sp}, nil
}
func (b *backend) Kill(context.Context, string) (*job.Job, error) { return nil, store.ErrNotFound }
func (b *backend) Store() store.Store                             { return b.st }
func (b *backend) IsLeader() bool                                 { return !b.standby.Load() }
func (b *backend) Subscribed() bool                               { return true }
func (b *backend) LeaderURL(context.Context) string               { return b.leader.Load().(string) }

const (
	adminToken  = "glt_admin_secret"
	readerToken = "glt_reader_secret"
)

func setup(t *testing.T) (*backend, *httptest.Server) {
	t.Helper()
	b := &backend{st: store.NewMemory()}
	b.leader.Store("http://leader.example:8470")
	h := templates.Handler(templates.HandlerConfig{Store: templates.NewMemory(templates.Limits{KeepVersions: 2}), Backend: b})
	guard := auth.Guard{Keyring: auth.NewKeyring(auth.EntryFor("admin", auth.Admin, adminToken), auth.EntryFor("read-only", auth.ReadOnly, readerToken))}
	srv := httptest.NewServer(api.Handler(b, api.Config{Auth: guard, Mount: map[string]http.Handler{"/v1/templates": h, "/v1/templates/": h}}))
	t.Cleanup(srv.Close)
	return b, srv
}

func call(t *testing.T, srv *httptest.Server, method, path, body, token string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, m, resp.Header
}

const shardsTemplate = `parameters:
  - {name: shards, default: "4"}
  - {name: input}
spec:
  name: shards
  tasks:
    - name: shard
      command: "echo {{inputs.parameters.input}}"
      instances: "{{inputs.parameters.shards}}"
`

func TestTemplateRoutes(t *testing.T) {
	b, srv := setup(t)
	if code, m, _ := call(t, srv, "PUT", "/v1/templates/shards", shardsTemplate, adminToken); code != 201 || m["version"] != 1.0 {
		t.Fatalf("push: %d %v", code, m)
	}
	if code, m, _ := call(t, srv, "PUT", "/v1/templates/shards", shardsTemplate, adminToken); code != 200 || m["unchanged"] != true || m["version"] != 1.0 {
		t.Fatalf("push of the same document: %d %v, want 200 unchanged version 1", code, m)
	}
	v2 := strings.Replace(shardsTemplate, "echo ", "echo v2 ", 1)
	if code, m, _ := call(t, srv, "PUT", "/v1/templates/shards", v2, adminToken); code != 201 || m["version"] != 2.0 {
		t.Fatalf("push v2: %d %v", code, m)
	}
	code, m, _ := call(t, srv, "GET", "/v1/templates/shards?version=1", "", readerToken)
	if code != 200 || m["version"] != 1.0 || m["by"] != "admin" {
		t.Fatalf("show version 1: %d %v", code, m)
	}
	if code, m, _ := call(t, srv, "GET", "/v1/templates/shards?version=x", "", readerToken); code != 400 || m["field"] != "version" {
		t.Fatalf("bad version: %d %v", code, m)
	}
	// Instantiate the latest with a parameter: the spec the node gets.
	code, m, h := call(t, srv, "POST", "/v1/templates/shards/jobs", `{"params": {"input": "/data/x", "shards": "3"}}`, adminToken)
	if code != 201 || m["version"] != 2.0 || h.Get("Location") != "/v1/jobs/shards-0001" {
		t.Fatalf("run: %d %v %v", code, m, h)
	}
	// And version 1 by number.
	if code, m, _ := call(t, srv, "POST", "/v1/templates/shards/jobs", `{"version": 1, "params": {"input": "/data/y"}}`, adminToken); code != 201 || m["version"] != 1.0 {
		t.Fatalf("run version 1: %d %v", code, m)
	}
	b.mu.Lock()
	got := b.submitted
	b.mu.Unlock()
	if len(got) != 2 || got[0].Tasks[0].Command != "echo v2 /data/x" || got[0].Tasks[0].Instances != 3 ||
		got[1].Tasks[0].Command != "echo /data/y" || got[1].Tasks[0].Instances != 4 {
		t.Fatalf("submitted specs: %+v", got)
	}
	for _, c := range []struct{ body, field string }{
		{`{"params": {}}`, "params.input"},
		{`{"params": {"input": "x", "nope": "1"}}`, "params.nope"},
		{`{"params": {"input": "x", "shards": "-2"}}`, "tasks[0].instances"},
		{`{"versoin": 1}`, "body"},
	} {
		if code, m, _ := call(t, srv, "POST", "/v1/templates/shards/jobs", c.body, adminToken); code != 400 || m["field"] != c.field {
			t.Errorf("run with %s: %d %v, want 400 on %s", c.body, code, m, c.field)
		}
	}
	if code, m, _ := call(t, srv, "POST", "/v1/templates/shards/jobs", `{"version": 9, "params": {"input": "x"}}`, adminToken); code != 404 {
		t.Fatalf("run of a version not kept: %d %v", code, m)
	}
	// A third version prunes the first (KeepVersions 2).
	v3 := strings.Replace(shardsTemplate, "echo ", "echo v3 ", 1)
	if code, _, _ := call(t, srv, "PUT", "/v1/templates/shards", v3, adminToken); code != 201 {
		t.Fatal("push v3")
	}
	if code, _, _ := call(t, srv, "GET", "/v1/templates/shards?version=1", "", readerToken); code != 404 {
		t.Fatalf("pruned version 1: %d, want 404", code)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/templates", nil)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list []templates.Summary
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list) != 1 || list[0].Latest != 3 || len(list[0].Versions) != 2 {
		t.Fatalf("list: %+v", list)
	}
	if code, _, _ := call(t, srv, "DELETE", "/v1/templates/shards", "", adminToken); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := call(t, srv, "GET", "/v1/templates/shards", "", readerToken); code != 404 {
		t.Fatalf("after delete: %d", code)
	}
}

func TestTemplatePushRefusals(t *testing.T) {
	_, srv := setup(t)
	for _, c := range []struct{ path, body, field string }{
		{"/v1/templates/Bad_Name", shardsTemplate, "name"},
		{"/v1/templates/other", "name: shards\n" + shardsTemplate, "name"},
		{"/v1/templates/shards", "spec: {name: s, tasks: [{name: t, command: \"echo {{inputs.parameters.zz}}\"}]}", "spec.tasks[0].command"},
		{"/v1/templates/shards", "spec: {name: s, tasks: [{name: t, command: echo, resources: {mem: -1}}]}", "spec.tasks[0].resources.mem"},
	} {
		if code, m, _ := call(t, srv, "PUT", c.path, c.body, adminToken); code != 400 || m["field"] != c.field {
			t.Errorf("PUT %s: %d %v, want 400 on %s", c.path, code, m, c.field)
		}
	}
	big := "spec: {name: s, tasks: [{name: t, command: \"" + strings.Repeat("x", templates.MaxTemplateBytes) + "\"}]}"
	if code, m, _ := call(t, srv, "PUT", "/v1/templates/big", big, adminToken); code != 413 {
		t.Fatalf("oversized push: %d %v, want 413", code, m)
	}
}

// Every template route needs a token; writes need admin.
func TestTemplateRoutesAuthenticated(t *testing.T) {
	_, srv := setup(t)
	if code, _, _ := call(t, srv, "PUT", "/v1/templates/shards", shardsTemplate, adminToken); code != 201 {
		t.Fatal("setup push")
	}
	for _, p := range []string{"/v1/templates", "/v1/templates/shards"} {
		if code, _, _ := call(t, srv, "GET", p, "", ""); code != 401 {
			t.Errorf("anonymous GET %s: %d, want 401", p, code)
		}
	}
	for _, w := range []struct{ method, path, body string }{
		{"PUT", "/v1/templates/shards", shardsTemplate},
		{"DELETE", "/v1/templates/shards", ""},
		{"POST", "/v1/templates/shards/jobs", `{"params": {"input": "x"}}`},
	} {
		if code, _, _ := call(t, srv, w.method, w.path, w.body, ""); code != 401 {
			t.Errorf("anonymous %s %s: %d, want 401", w.method, w.path, code)
		}
		if code, _, _ := call(t, srv, w.method, w.path, w.body, readerToken); code != 403 {
			t.Errorf("read-only %s %s: %d, want 403", w.method, w.path, code)
		}
	}
}

// A standby serves reads and redirects writes to the leader, or answers
// 503 no_leader while none is elected.
func TestTemplateWritesOnAStandby(t *testing.T) {
	b, srv := setup(t)
	if code, _, _ := call(t, srv, "PUT", "/v1/templates/shards", shardsTemplate, adminToken); code != 201 {
		t.Fatal("setup push")
	}
	b.standby.Store(true)
	if code, _, _ := call(t, srv, "GET", "/v1/templates/shards", "", readerToken); code != 200 {
		t.Fatalf("read on a standby: %d", code)
	}
	code, m, h := call(t, srv, "POST", "/v1/templates/shards/jobs?x=1", `{"params": {"input": "x"}}`, adminToken)
	if code != 307 || h.Get("Location") != "http://leader.example:8470/v1/templates/shards/jobs?x=1" || m["leader"] != "http://leader.example:8470" {
		t.Fatalf("run on a standby: %d %v %v", code, m, h)
	}
	b.leader.Store("")
	if code, m, _ := call(t, srv, "PUT", "/v1/templates/shards", shardsTemplate, adminToken); code != 503 || m["code"] != api.CodeNoLeader {
		t.Fatalf("push without a leader: %d %v", code, m)
	}
}
