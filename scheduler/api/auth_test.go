package api

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/auth"
)

// Every route but /healthz needs a token (issue 10 findings 2 and 3):
// anonymous reads and writes get 401, a read-only token reads but cannot
// write (403), and the scheme is matched case-insensitively.
func TestEveryRouteButHealthzNeedsAToken(t *testing.T) {
	mounted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"ok": "mounted"}) })
	_, srv := setupWith(t, Config{Auth: testGuard(), Mount: map[string]http.Handler{"/v1/agents": mounted, "/v1/agents/": mounted}})
	if resp, _ := do(t, "POST", srv.URL+"/v1/jobs", specDoc, adminToken); resp.StatusCode != 201 {
		t.Fatalf("setup submit: %d", resp.StatusCode)
	}
	reads := []string{
		"/v1/jobs", "/v1/jobs/etl-1", "/v1/jobs/etl-1/tasks/a/instances/0", "/v1/jobs/etl-1/tasks/a/instances/0/logs",
		"/metrics", "/v1/schema", "/v1/agents", "/v1/agents/h1/attributes", "/v1/agents/h1/attributes/history",
	}
	writes := []struct{ method, path, body string }{
		{"POST", "/v1/jobs", specDoc},
		{"DELETE", "/v1/jobs/etl-1", ""},
		{"POST", "/v1/jobs/etl-1/suspend", ""},
		{"POST", "/v1/jobs/etl-1/resume", ""},
		{"POST", "/v1/jobs/etl-1/retry", ""},
		{"PATCH", "/v1/agents/h1/attributes", `{"rack":"r2"}`},
		{"PUT", "/v1/agents/h1/attributes", `{"rack":"r2"}`},
		{"DELETE", "/v1/agents/h1/attributes/rack", ""},
	}
	for _, p := range reads {
		for _, tok := range []string{"", "wrong"} {
			if resp, m := do(t, "GET", srv.URL+p, "", tok); resp.StatusCode != 401 || m["field"] != "Authorization" || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s with token %q: %d %v, want 401", p, tok, resp.StatusCode, m)
			}
		}
		if resp, m := do(t, "GET", srv.URL+p, "", readerToken); resp.StatusCode == 401 || resp.StatusCode == 403 {
			t.Errorf("GET %s with the read-only token: %d %v", p, resp.StatusCode, m)
		}
	}
	// The watch streams: ask for its headers only.
	req, _ := http.NewRequest("GET", srv.URL+"/v1/jobs/etl-1/watch", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("anonymous watch: %v %v", resp.StatusCode, err)
	}
	for _, wr := range writes {
		if resp, m := do(t, wr.method, srv.URL+wr.path, wr.body, ""); resp.StatusCode != 401 {
			t.Errorf("anonymous %s %s: %d %v, want 401", wr.method, wr.path, resp.StatusCode, m)
		}
		if resp, m := do(t, wr.method, srv.URL+wr.path, wr.body, readerToken); resp.StatusCode != 403 || m["field"] != "Authorization" {
			t.Errorf("read-only %s %s: %d %v, want 403", wr.method, wr.path, resp.StatusCode, m)
		}
	}
	if resp, m := do(t, "GET", srv.URL+"/healthz", "", ""); resp.StatusCode != 200 || m["auth"] != "on" {
		t.Errorf("anonymous healthz: %d %v", resp.StatusCode, m)
	}
	// Lowercase scheme (finding 8).
	req, _ = http.NewRequest("POST", srv.URL+"/v1/jobs", strings.NewReader(specDoc))
	req.Header.Set("Authorization", "bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("lowercase bearer: %v %v", resp.StatusCode, err)
	}
}

// The zero Config knows no token: nothing but /healthz is open.
func TestZeroConfigFailsClosed(t *testing.T) {
	_, srv := setupWith(t, Config{})
	if resp, _ := do(t, "GET", srv.URL+"/v1/jobs", "", "anything"); resp.StatusCode != 401 {
		t.Fatalf("zero config: %d", resp.StatusCode)
	}
}

// --insecure-no-auth opens the API and says so in /healthz.
func TestInsecureNoAuth(t *testing.T) {
	_, srv := setupWith(t, Config{Auth: auth.Guard{Insecure: true}})
	if resp, m := do(t, "POST", srv.URL+"/v1/jobs", specDoc, ""); resp.StatusCode != 201 {
		t.Fatalf("anonymous submit: %d %v", resp.StatusCode, m)
	}
	if _, m := do(t, "GET", srv.URL+"/healthz", "", ""); m["auth"] != "off" {
		t.Fatalf("healthz: %v", m)
	}
}

// countingReader counts the bytes a handler read of a body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A standby redirects a submit before reading its body (issue 10 finding
// 1: it parsed the 1 MB "!!!…a" depends before redirecting, and died).
func TestStandbyRedirectsWithoutReadingTheBody(t *testing.T) {
	b := &fakeBackend{leaderURL: "http://leader:8470"}
	h := Handler(b, Config{Auth: testGuard()})
	bomb := "name: bomb\ntasks: [{name: a, command: 'true'}, {name: b, command: 'true', depends: '" + strings.Repeat("!", 1<<20) + "a'}]"
	body := &countingReader{r: strings.NewReader(bomb)}
	req := httptest.NewRequest("POST", "/v1/jobs", body)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 307 || rec.Header().Get("Location") != "http://leader:8470/v1/jobs" {
		t.Fatalf("standby: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if n := body.n.Load(); n != 0 {
		t.Fatalf("the standby read %d bytes of the body it redirected", n)
	}
	// No leader at all: 503 with a code clients can wait on.
	b.leaderURL = ""
	req = httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(specDoc))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"code":"no_leader"`) {
		t.Fatalf("no leader: %d %s", rec.Code, rec.Body)
	}
}

// /healthz says whether this instance leads and who does (issue 17).
func TestHealthzReportsLeadership(t *testing.T) {
	b, srv := setup(t)
	if _, m := do(t, "GET", srv.URL+"/healthz", "", ""); m["leader"] != true || m["leaderURL"] != "http://me:8470" || m["subscribed"] != true {
		t.Fatalf("leader: %v", m)
	}
	b.leader = false
	if _, m := do(t, "GET", srv.URL+"/healthz", "", ""); m["leader"] != false || m["leaderURL"] != "http://leader:8470" {
		t.Fatalf("standby: %v", m)
	}
	b.leaderURL = ""
	if _, m := do(t, "GET", srv.URL+"/healthz", "", ""); m["leader"] != false || m["leaderURL"] != nil {
		t.Fatalf("no leader elected: %v", m)
	}
}

// Every oversized body gets 413, whether its length is declared or not.
func TestOversizedBodies(t *testing.T) {
	readAll := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); tooLarge(err) {
			writeErr(w, http.StatusRequestEntityTooLarge, Error{Error: err.Error(), Field: "body"})
			return
		}
		writeJSON(w, 200, map[string]string{})
	})
	_, srv := setupWith(t, Config{Auth: testGuard(), MaxBody: 1000, MaxMountBody: 100,
		Mount: map[string]http.Handler{"/v1/agents/": readAll}})
	big := specDoc + "\n#" + strings.Repeat("x", 1000)
	for _, tc := range []struct {
		method, path string
		body         []byte
		want         int
	}{
		{"POST", "/v1/jobs", []byte(big), 413},
		{"POST", "/v1/jobs", []byte(specDoc), 201},
		{"PATCH", "/v1/agents/h1/attributes", bytes.Repeat([]byte("x"), 101), 413},
		{"PATCH", "/v1/agents/h1/attributes", []byte(`{}`), 200},
		{"POST", "/v1/jobs/x/suspend", bytes.Repeat([]byte("x"), noBody+1), 413},
	} {
		for _, chunked := range []bool{false, true} {
			var rd io.Reader = bytes.NewReader(tc.body)
			if chunked {
				rd = io.MultiReader(rd) // hides the length: sent chunked
			}
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, rd)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := tc.want
			if chunked && tc.path == "/v1/jobs/x/suspend" {
				want = 501 // never read, so never refused; this backend has no batch verbs
			}
			if resp.StatusCode != want {
				t.Errorf("%s %s (%d bytes, chunked %v): %d, want %d", tc.method, tc.path, len(tc.body), chunked, resp.StatusCode, want)
			}
		}
	}
}

// Writes are logged with the name of the token that made them.
func TestWritesAreAuditedByTokenName(t *testing.T) {
	var logged bytes.Buffer
	_, srv := setupWith(t, Config{Auth: testGuard(), Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if resp, _ := do(t, "POST", srv.URL+"/v1/jobs", specDoc, adminToken); resp.StatusCode != 201 {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	if !strings.Contains(logged.String(), `msg="api write" who=ops method=POST path=/v1/jobs`) {
		t.Fatalf("log: %s", logged.String())
	}
}
