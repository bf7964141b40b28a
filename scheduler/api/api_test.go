package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/events"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

type fakeBackend struct {
	st        *store.Memory
	leader    bool
	leaderURL string // the other leader's, while this one is a standby
	n         int
}

func (f *fakeBackend) Submit(ctx context.Context, sp *job.Spec) (*job.Job, error) {
	if !f.leader {
		return nil, &node.NotLeaderError{LeaderURL: f.leaderURL}
	}
	f.n++
	j := &job.Job{ID: sp.Name + "-" + string(rune('0'+f.n)), Spec: *sp, Submitted: time.Now()}
	return j, f.st.CreateJob(ctx, j)
}

func (f *fakeBackend) Kill(ctx context.Context, id string) (*job.Job, error) {
	return f.st.UpdateJob(ctx, id, func(j *job.Job) error { j.KillRequested = true; return nil })
}
func (f *fakeBackend) Store() store.Store { return f.st }
func (f *fakeBackend) IsLeader() bool     { return f.leader }
func (f *fakeBackend) Subscribed() bool   { return f.leader }
func (f *fakeBackend) LeaderURL(context.Context) string {
	if f.leader {
		return "http://me:8470"
	}
	return f.leaderURL
}

// Tokens of the tests' keyring.
const (
	adminToken  = "s3cret"
	readerToken = "dashboard-s3cret"
)

func testGuard() auth.Guard {
	return auth.Guard{Keyring: auth.NewKeyring(auth.EntryFor("ops", auth.Admin, adminToken), auth.EntryFor("dashboard", auth.ReadOnly, readerToken))}
}

func setup(t *testing.T) (*fakeBackend, *httptest.Server) {
	return setupWith(t, Config{Auth: testGuard()})
}

func setupWith(t *testing.T, cfg Config) (*fakeBackend, *httptest.Server) {
	b := &fakeBackend{st: store.NewMemory(), leader: true, leaderURL: "http://leader:8470"}
	srv := httptest.NewServer(Handler(b, cfg))
	t.Cleanup(srv.Close)
	return b, srv
}

func do(t *testing.T, method, url, body, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp, m
}

const specDoc = "name: etl\ntasks: [{name: a, command: 'true', instances: 3}]"

func TestSubmitGetKill(t *testing.T) {
	b, srv := setup(t)
	resp, m := do(t, "POST", srv.URL+"/v1/jobs", specDoc, adminToken)
	if resp.StatusCode != 201 || m["id"] != "etl-1" {
		t.Fatalf("submit: %d %v", resp.StatusCode, m)
	}
	resp, m = do(t, "GET", srv.URL+"/v1/jobs/etl-1", "", readerToken)
	if resp.StatusCode != 200 || m["state"] != "pending" || m["name"] != "etl" {
		t.Fatalf("get: %d %v", resp.StatusCode, m)
	}
	counts := m["tasks"].([]any)[0].(map[string]any)["counts"].(map[string]any)
	if counts["pending"] != 3.0 {
		t.Fatalf("counts = %v", counts)
	}
	code := 0
	b.st.PutAttempts(context.Background(), []job.Attempt{{Job: "etl-1", Task: "a", Index: 1, State: job.AttemptSucceeded, ExitCode: &code, Hostname: "h1"}})
	resp, m = do(t, "GET", srv.URL+"/v1/jobs/etl-1/tasks/a/instances/1", "", readerToken)
	if resp.StatusCode != 200 || m["state"] != "succeeded" {
		t.Fatalf("instance: %d %v", resp.StatusCode, m)
	}
	at := m["attempts"].([]any)[0].(map[string]any)
	if at["taskId"] != "etl-1.a.1.0" || at["hostname"] != "h1" || at["exitCode"] != 0.0 {
		t.Fatalf("attempt = %v", at)
	}
	resp, m = do(t, "GET", srv.URL+"/v1/jobs", "", readerToken)
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d", resp.StatusCode)
	}
	resp, _ = do(t, "DELETE", srv.URL+"/v1/jobs/etl-1", "", adminToken)
	if resp.StatusCode != 202 {
		t.Fatalf("kill: %d", resp.StatusCode)
	}
	_, m = do(t, "GET", srv.URL+"/v1/jobs/etl-1", "", readerToken)
	if m["state"] != "killed" {
		t.Fatalf("after kill: %v", m)
	}
}

func TestErrors(t *testing.T) {
	b, srv := setup(t)
	cases := []struct {
		name, method, path, body, token string
		code                            int
		field                           string
	}{
		{"no token", "POST", "/v1/jobs", specDoc, "", 401, "Authorization"},
		{"wrong token", "POST", "/v1/jobs", specDoc, "nope", 401, "Authorization"},
		{"kill without token", "DELETE", "/v1/jobs/x", "", "", 401, "Authorization"},
		{"bad spec", "POST", "/v1/jobs", "name: etl\ntasks: [{name: a, command: x, resources: {cpus: -1}}]", adminToken, 400, "tasks[0].resources.cpus"},
		{"unknown field", "POST", "/v1/jobs", "name: etl\nbogus: 1\ntasks: [{name: a, command: x}]", adminToken, 400, "bogus"},
		{"missing job", "GET", "/v1/jobs/nope", "", readerToken, 404, "id"},
		{"kill missing job", "DELETE", "/v1/jobs/nope", "", adminToken, 404, "id"},
		{"bad index", "GET", "/v1/jobs/etl-1/tasks/a/instances/x", "", readerToken, 400, "index"},
		{"index out of range", "GET", "/v1/jobs/etl-1/tasks/a/instances/3", "", readerToken, 404, "index"},
		{"unknown task", "GET", "/v1/jobs/etl-1/tasks/zz/instances/0", "", readerToken, 404, "task"},
		{"unknown path", "GET", "/v2/x", "", readerToken, 404, ""},
		{"unknown path without a token", "GET", "/v2/x", "", "", 401, "Authorization"},
	}
	if resp, _ := do(t, "POST", srv.URL+"/v1/jobs", specDoc, adminToken); resp.StatusCode != 201 {
		t.Fatal("setup submit failed")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := do(t, c.method, srv.URL+c.path, c.body, c.token)
			if resp.StatusCode != c.code || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d (%s), want %d: %v", resp.StatusCode, resp.Header.Get("Content-Type"), c.code, m)
			}
			if m["error"] == nil || m["error"] == "" {
				t.Fatalf("no error message: %v", m)
			}
			if c.field != "" && m["field"] != c.field {
				t.Fatalf("field = %v, want %s", m["field"], c.field)
			}
		})
	}
	b.leader = false
	resp, m := do(t, "POST", srv.URL+"/v1/jobs", specDoc, adminToken)
	if resp.StatusCode != 307 || resp.Header.Get("Location") != "http://leader:8470/v1/jobs" || m["leader"] != "http://leader:8470" {
		t.Fatalf("standby submit: %d %v %v", resp.StatusCode, resp.Header, m)
	}
}

// A watch streams a job's status as it changes and ends after the final
// state: reading the job's records itself, or reading what the event
// detector derives (Config.Statuses, as the scheduler serves it).
func TestWatchStream(t *testing.T) {
	t.Run("reading the records", func(t *testing.T) {
		b, srv := setup(t)
		testWatchStream(t, b, srv)
	})
	t.Run("following the detector", func(t *testing.T) {
		st := store.NewMemory()
		det := events.NewDetector(events.DetectorConfig{Store: st, Log: events.NewLog(0), MinInterval: 20 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = det.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		b := &fakeBackend{st: st, leader: true}
		srv := httptest.NewServer(Handler(b, Config{Auth: testGuard(), Statuses: det}))
		t.Cleanup(srv.Close)
		testWatchStream(t, b, srv)
	})
}

func testWatchStream(t *testing.T, b *fakeBackend, srv *httptest.Server) {
	do(t, "POST", srv.URL+"/v1/jobs", "name: w\ntasks: [{name: a, command: 'true', instances: 2}]", adminToken)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/jobs/w-1/watch", nil)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	next := func() job.Status {
		if !sc.Scan() {
			t.Fatalf("stream ended: %v", sc.Err())
		}
		var st job.Status
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := next(); st.State != job.Pending {
		t.Fatalf("first line: %+v", st)
	}
	b.st.PutAttempts(ctx, []job.Attempt{{Job: "w-1", Task: "a", Index: 0, State: job.AttemptRunning}})
	if st := next(); st.State != job.Running {
		t.Fatalf("second line: %+v", st)
	}
	b.st.PutAttempts(ctx, []job.Attempt{{Job: "w-1", Task: "a", Index: 0, State: job.AttemptSucceeded}, {Job: "w-1", Task: "a", Index: 1, State: job.AttemptSucceeded}})
	for {
		st := next()
		if st.State == job.Succeeded {
			break
		}
	}
	if sc.Scan() {
		t.Fatalf("stream continued after the final state: %s", sc.Text())
	}
}
