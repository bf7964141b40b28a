package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// fakeAgent serves /state and /files/read over in-memory files, as a Mesos
// agent does.
type fakeAgent struct {
	mu    sync.Mutex
	state string
	files map[string]string
	reads int
}

func (f *fakeAgent) append(p, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[p] += s
}

func (f *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/state":
		io.WriteString(w, f.state)
	case "/files/read":
		data, ok := f.files[r.URL.Query().Get("path")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		f.reads++
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if off == -1 {
			json.NewEncoder(w).Encode(map[string]any{"data": "", "offset": len(data)})
			return
		}
		if off > len(data) {
			http.Error(w, "beyond", 400)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("length"))
		end := min(len(data), off+n)
		json.NewEncoder(w).Encode(map[string]any{"data": data[off:end], "offset": off})
	default:
		http.NotFound(w, r)
	}
}

type logsBackend struct {
	fakeBackend
	endpoints map[string]string
}

func (b *logsBackend) AgentEndpoint(id string) string { return b.endpoints[id] }

func setupLogs(t *testing.T, state string) (*logsBackend, *fakeAgent, *httptest.Server) {
	t.Helper()
	ag := &fakeAgent{state: state, files: map[string]string{}}
	agSrv := httptest.NewServer(ag)
	t.Cleanup(agSrv.Close)
	b := &logsBackend{fakeBackend: fakeBackend{st: store.NewMemory(), leader: true}, endpoints: map[string]string{"A1": agSrv.URL}}
	ctx := context.Background()
	sp := job.Spec{Name: "etl", Tasks: []job.TaskSpec{{Name: "a", Command: "true", Instances: 2, Retries: 3}}}
	if err := b.st.CreateJob(ctx, &job.Job{ID: "etl-1", Spec: sp, Submitted: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := b.st.SetFrameworkID(ctx, "FW"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(b, Config{Auth: auth.Guard{Insecure: true}}))
	t.Cleanup(srv.Close)
	return b, ag, srv
}

const logsState = `{"frameworks":[{"id":"OTHER","executors":[{"id":"etl-1.a.0.1","directory":"/wrong","tasks":[{"id":"etl-1.a.0.1"}]}]},
 {"id":"FW","executors":[{"id":"etl-1.a.0.1","name":"gleaner-executor","directory":"/w/gx","tasks":[{"id":"etl-1.a.0.1"}]}],
  "completed_executors":[{"id":"etl-1.a.0.0","name":"Command Executor (Task: etl-1.a.0.0)","directory":"/w/cmd","completed_tasks":[{"id":"etl-1.a.0.0"}]}]}]}`

func TestLogsReadsTheAttemptsSandbox(t *testing.T) {
	b, ag, srv := setupLogs(t, logsState)
	ctx := context.Background()
	b.st.PutAttempts(ctx, []job.Attempt{
		{Job: "etl-1", Task: "a", Index: 0, Attempt: 0, State: job.AttemptFailed, AgentID: "A1", Hostname: "h"},
		{Job: "etl-1", Task: "a", Index: 0, Attempt: 1, State: job.AttemptSucceeded, AgentID: "A1", Hostname: "h"},
	})
	ag.files["/w/cmd/stdout"] = "first attempt out\n"           // command executor: <sandbox>/stdout
	ag.files["/w/gx/tasks/etl-1.a.0.1/stdout"] = "second out\n" // Gleaner executor: <sandbox>/tasks/<id>/stdout
	ag.files["/w/gx/tasks/etl-1.a.0.1/stderr"] = strings.Repeat("e", 3*logChunk+7)
	get := func(q string) (int, string, http.Header) {
		resp, err := http.Get(srv.URL + "/v1/jobs/etl-1/tasks/a/instances/0/logs" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	if code, body, h := get(""); code != 200 || body != "second out\n" || h.Get("X-Gleaner-Task-Id") != "etl-1.a.0.1" {
		t.Fatalf("newest attempt: %d %q %v", code, body, h)
	}
	if code, body, _ := get("?attempt=0"); code != 200 || body != "first attempt out\n" {
		t.Fatalf("attempt 0: %d %q", code, body)
	}
	if code, body, _ := get("?stream=stderr"); code != 200 || body != strings.Repeat("e", 3*logChunk+7) {
		t.Fatalf("stderr in chunks: %d, %d bytes", code, len(body))
	}
	if code, body, _ := get("?offset=7"); code != 200 || body != "out\n" {
		t.Fatalf("offset: %d %q", code, body)
	}
	for _, tc := range []struct {
		q, field string
		code     int
	}{
		{"?stream=stdin", "stream", 400},
		{"?attempt=x", "attempt", 400},
		{"?offset=-3", "offset", 400},
		{"?follow=maybe", "follow", 400},
		{"?attempt=7", "attempt", 404},
		{"?attempt=0&stream=stderr", "attempt", 404}, // no such file in that sandbox
	} {
		code, body, _ := get(tc.q)
		var e Error
		_ = json.Unmarshal([]byte(body), &e)
		if code != tc.code || e.Field != tc.field || e.Error == "" {
			t.Errorf("%s: %d %q, want %d field %s", tc.q, code, body, tc.code, tc.field)
		}
	}
	resp, err := http.Get(srv.URL + "/v1/jobs/etl-1/tasks/a/instances/1/logs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("instance without attempts: %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/v1/jobs/etl-1/tasks/zz/instances/0/logs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown task: %d", resp.StatusCode)
	}
}

func TestLogsFollowUntilTheAttemptEnds(t *testing.T) {
	old := logPoll
	logPoll = 10 * time.Millisecond
	t.Cleanup(func() { logPoll = old })
	b, ag, srv := setupLogs(t, logsState)
	ctx := context.Background()
	running := job.Attempt{Job: "etl-1", Task: "a", Index: 0, Attempt: 1, State: job.AttemptRunning, AgentID: "A1", Hostname: "h"}
	b.st.PutAttempts(ctx, []job.Attempt{running})
	const p = "/w/gx/tasks/etl-1.a.0.1/stdout"
	ag.append(p, "line 1\n")
	resp, err := http.Get(srv.URL + "/v1/jobs/etl-1/tasks/a/instances/0/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("follow: %d", resp.StatusCode)
	}
	rd := bufio.NewReader(resp.Body)
	expect := func(want string) {
		t.Helper()
		got, err := rd.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	expect("line 1\n")
	ag.append(p, "line 2\n") // written while the stream is open
	expect("line 2\n")
	// The attempt ends; what it wrote last still comes, then the stream ends.
	ag.append(p, "last\n")
	running.State = job.AttemptSucceeded
	b.st.PutAttempts(ctx, []job.Attempt{running})
	rest, err := io.ReadAll(rd)
	if err != nil || string(rest) != "last\n" {
		t.Fatalf("after the end: %q, %v", rest, err)
	}
}
