package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/events"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/templates"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

var hookSecret = []byte("e2e-webhook-secret-0123456789")

// hookReceiver is a webhook endpoint on 127.0.0.1 that verifies every
// delivery's signature and records the events it accepted.
type hookReceiver struct {
	mu   sync.Mutex
	got  []events.Event
	bad  []string
	srv  *httptest.Server
	fail int // answer 503 to the first fail deliveries
}

func newHookReceiver(t *testing.T, fail int) *hookReceiver {
	h := &hookReceiver{fail: fail}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := events.Verify(hookSecret, r.Header.Get(events.HeaderTimestamp), r.Header.Get(events.HeaderSignature), body, time.Now(), events.DefaultTolerance); err != nil {
			h.bad = append(h.bad, err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if h.fail > 0 {
			h.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var e events.Event
		if err := json.Unmarshal(body, &e); err != nil {
			h.bad = append(h.bad, err.Error())
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.got = append(h.got, e)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) jobEvents(id string) ([]events.Event, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []events.Event
	for _, e := range h.got {
		if e.Job == id {
			out = append(out, e)
		}
	}
	return out, append([]string(nil), h.bad...)
}

// serveWithTemplatesAndEvents serves n's API with the template and event
// routes mounted, and runs a detector and a webhook dispatcher to hook,
// as `gleaner scheduler --webhooks` does.
func serveWithTemplatesAndEvents(t *testing.T, env *schedEnv, n *node.Node, hook *hookReceiver) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := testLogger(t)
	tpl := templates.Handler(templates.HandlerConfig{Store: templates.NewEtcd(env.client(), env.prefix, templates.Limits{}), Backend: n, Log: log})
	evlog := events.NewLog(0)
	det := events.NewDetector(events.DetectorConfig{Store: n.Store(), Log: evlog, MinInterval: 200 * time.Millisecond, Logger: log})
	go func() { _ = det.Run(ctx) }()
	d := events.NewDispatcher(events.DispatcherConfig{IsLeader: n.IsLeader, Logger: log, BaseBackoff: 50 * time.Millisecond,
		Hooks: []events.Webhook{{Name: "e2e", URL: hook.srv.URL, Secret: hookSecret}}})
	go func() { _ = d.Run(ctx, evlog, 0) }()
	srv := httptest.NewServer(api.Handler(n, api.Config{Auth: e2eGuard(), Logger: log,
		Mount: map[string]http.Handler{"/v1/templates": tpl, "/v1/templates/": tpl, "/v1/events": events.Handler(evlog, time.Minute)}}))
	t.Cleanup(srv.Close)
	return srv
}

func apiCall(t *testing.T, method, url, token string, body []byte, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	if resp.StatusCode/100 != 2 {
		t.Logf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// checkJobEvents checks one job's events: job.submitted first, the final
// job event last, each task's final state announced, and every task's
// events in the order pending → running → final.
func checkJobEvents(t *testing.T, evs []events.Event, final job.State, tasks ...string) {
	t.Helper()
	var types []string
	for _, e := range evs {
		types = append(types, e.Type+"/"+e.Task)
	}
	if len(evs) < 2 || evs[0].Type != events.TypeJobSubmitted || evs[len(evs)-1].Type != "job."+string(final) {
		t.Fatalf("events %v: want job.submitted first and job.%s last", types, final)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("events out of order: %v", types)
		}
	}
	for _, task := range tasks {
		var seen []job.State
		for _, e := range evs {
			if e.Task == task && strings.HasPrefix(e.Type, "task.") {
				seen = append(seen, e.State)
			}
		}
		if len(seen) == 0 || !seen[len(seen)-1].Terminal() {
			t.Fatalf("task %s: states %v, want a final state last (events %v)", task, seen, types)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i-1].Terminal() {
				t.Fatalf("task %s: %v after a final state", task, seen)
			}
		}
	}
}

// Push the stored example template, instantiate it with a parameter over
// the API, the job runs under the Gleaner executor and succeeds, and a
// webhook receiver sees its events in order, each with a valid signature;
// the /v1/events stream shows the same to a read-only token.
func TestTemplatePushRunAndWebhook(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	env := newSchedEnv(t, localmesos.Config{Agents: 2, WorkDir: openDir(t)})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.ExecutorPath = bin })
	hook := newHookReceiver(t, 0)
	srv := serveWithTemplatesAndEvents(t, env, n, hook)
	waitFor(t, "leadership", 20*time.Second, n.IsLeader)

	doc, err := os.ReadFile("../../examples/templates-stored/greet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pushed templates.Pushed
	if code := apiCall(t, "PUT", srv.URL+"/v1/templates/greet", e2eAdminToken, doc, &pushed); code != 201 || pushed.Version != 1 {
		t.Fatalf("push: %d %+v", code, pushed)
	}
	// The read-only token reads templates but cannot run them.
	if code := apiCall(t, "POST", srv.URL+"/v1/templates/greet/jobs", e2eReaderToken, []byte(`{"params":{"who":"x"}}`), nil); code != 403 {
		t.Fatalf("run with the read-only token: %d, want 403", code)
	}
	var bad api.Error
	if code := apiCall(t, "POST", srv.URL+"/v1/templates/greet/jobs", e2eAdminToken, []byte(`{"params":{"who":"Not A Name"}}`), &bad); code != 400 || bad.Field != "name" {
		t.Fatalf("run with a value the job name refuses: %d %+v, want 400 on name", code, bad)
	}
	streamCtx, stopStream := context.WithTimeout(context.Background(), 90*time.Second)
	defer stopStream()
	req, _ := http.NewRequestWithContext(streamCtx, "GET", srv.URL+"/v1/events?since=0&type=job.*", nil)
	req.Header.Set("Authorization", "Bearer "+e2eReaderToken)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("events stream: %v %v", err, stream)
	}
	defer stream.Body.Close()

	var sub templates.Submitted
	if code := apiCall(t, "POST", srv.URL+"/v1/templates/greet/jobs", e2eAdminToken, []byte(`{"params":{"who":"world","times":"3"}}`), &sub); code != 201 || sub.Version != 1 {
		t.Fatalf("run: %d %+v", code, sub)
	}
	if !strings.HasPrefix(sub.ID, "greet-world-") {
		t.Fatalf("job id %q, want greet-world-…", sub.ID)
	}
	st, _ := waitBatch(t, n, sub.ID, 90*time.Second)
	if st.State != job.Succeeded || taskStatus(st, "hello").Counts.Succeeded != 3 {
		t.Fatalf("job %+v", st)
	}
	var evs []events.Event
	waitFor(t, "job.succeeded at the webhook", 60*time.Second, func() bool {
		evs, _ = hook.jobEvents(sub.ID)
		return len(evs) > 0 && evs[len(evs)-1].Type == "job.succeeded"
	})
	_, badSigs := hook.jobEvents(sub.ID)
	if len(badSigs) != 0 {
		t.Fatalf("deliveries failing the signature check: %v", badSigs)
	}
	checkJobEvents(t, evs, job.Succeeded, "hello", "done")

	// The stream (job.* only) ends its part with the same job.succeeded.
	sc := bufio.NewScanner(stream.Body)
	var streamed []string
	for sc.Scan() {
		var e events.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Job != sub.ID {
			continue
		}
		streamed = append(streamed, e.Type)
		if e.Type == "job.succeeded" {
			break
		}
	}
	if len(streamed) < 2 || streamed[0] != events.TypeJobSubmitted || streamed[len(streamed)-1] != "job.succeeded" {
		t.Fatalf("stream showed %v (%v)", streamed, sc.Err())
	}
	for _, s := range streamed {
		if strings.HasPrefix(s, "task.") {
			t.Fatalf("type=job.* streamed %s", s)
		}
	}
}
