package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// instantBackend "runs" a job at submit: every instance succeeds, or fails
// with exit 4 when the task's command is "false". leader false makes it a
// standby pointing at leaderURL.
type instantBackend struct {
	st        *store.Memory
	standby   bool
	leaderURL string
}

func (b *instantBackend) Submit(ctx context.Context, sp *job.Spec) (*job.Job, error) {
	if b.standby {
		return nil, &node.NotLeaderError{LeaderURL: b.leaderURL}
	}
	j := &job.Job{ID: sp.Name + "-1", Spec: *sp, Submitted: time.Now()}
	if err := b.st.CreateJob(ctx, j); err != nil {
		return nil, err
	}
	var as []job.Attempt
	for _, t := range sp.Tasks {
		for i := 0; i < t.Instances; i++ {
			a := job.Attempt{Job: j.ID, Task: t.Name, Index: i, State: job.AttemptSucceeded, Started: time.Now(), Ended: time.Now()}
			if t.Command == "false" {
				four := 4
				a.State, a.ExitCode, a.Message = job.AttemptFailed, &four, "exited with status 4"
			}
			as = append(as, a)
		}
	}
	go b.st.PutAttempts(context.Background(), as)
	return j, nil
}

func (b *instantBackend) Kill(ctx context.Context, id string) (*job.Job, error) {
	if b.standby {
		return nil, &node.NotLeaderError{LeaderURL: b.leaderURL}
	}
	return b.st.UpdateJob(ctx, id, func(j *job.Job) error { j.KillRequested = true; return nil })
}
func (b *instantBackend) Store() store.Store                   { return b.st }
func (b *instantBackend) IsLeader() bool                       { return !b.standby }
func (b *instantBackend) Subscribed() bool                     { return true }
func (b *instantBackend) LeaderURL(ctx context.Context) string { return b.leaderURL }

// testServer serves the real API handler with the admin token "tok" and
// the read-only token "ro".
func testServer(t *testing.T, b *instantBackend) *httptest.Server {
	t.Helper()
	cfg := api.Config{Auth: auth.Guard{Keyring: auth.NewKeyring(auth.EntryFor("ops", auth.Admin, "tok"), auth.EntryFor("dash", auth.ReadOnly, "ro"))}}
	srv := httptest.NewServer(api.Handler(b, cfg))
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t *testing.T, url, token string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, append([]client.Option{client.WithToken(token)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSubmitWatchGetInstance(t *testing.T) {
	srv := testServer(t, &instantBackend{st: store.NewMemory()})
	c := newClient(t, srv.URL, "tok")
	ctx := context.Background()
	sub, err := c.Submit(ctx, []byte("name: good\ntasks: [{name: a, command: 'true', instances: 3}]"))
	if err != nil || sub.ID != "good-1" {
		t.Fatalf("submit: %+v %v", sub, err)
	}
	var seen int
	st, err := c.Watch(ctx, sub.ID, func(job.Status) { seen++ })
	if err != nil || st.State != job.Succeeded || seen == 0 {
		t.Fatalf("watch: %v %v after %d updates", st.State, err, seen)
	}
	v, err := c.Get(ctx, sub.ID)
	if err != nil || v.State != job.Succeeded || len(v.Tasks) != 1 || v.Tasks[0].Counts.Succeeded != 3 {
		t.Fatalf("get: %+v %v", v, err)
	}
	inst, err := c.Instance(ctx, sub.ID, "a", 2)
	if err != nil || inst.State != job.Succeeded || len(inst.Attempts) != 1 || inst.Attempts[0].TaskID != "good-1.a.2.0" {
		t.Fatalf("instance: %+v %v", inst, err)
	}
	if _, err := c.Kill(ctx, sub.ID); err != nil {
		t.Fatalf("kill: %v", err)
	}
}

func TestTypedErrors(t *testing.T) {
	srv := testServer(t, &instantBackend{st: store.NewMemory()})
	ctx := context.Background()
	admin := newClient(t, srv.URL, "tok")
	_, err := admin.Get(ctx, "nope")
	var ae *client.APIError
	if !errors.Is(err, client.ErrNotFound) || !errors.As(err, &ae) || ae.Status != 404 || ae.Field != "id" {
		t.Fatalf("missing job: %#v", err)
	}
	_, err = admin.Submit(ctx, []byte("name: x\ntasks: [{name: a, command: 'true', resources: {cpus: -2}}]"))
	if !errors.Is(err, client.ErrBadRequest) || !errors.As(err, &ae) || ae.Field != "tasks[0].resources.cpus" || !strings.Contains(err.Error(), "tasks[0].resources.cpus") {
		t.Fatalf("bad spec: %#v", err)
	}
	if _, err := newClient(t, srv.URL, "").List(ctx, client.ListOptions{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("no token: %v", err)
	}
	if _, err := newClient(t, srv.URL, "wrong").List(ctx, client.ListOptions{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	ro := newClient(t, srv.URL, "ro")
	if _, err := ro.List(ctx, client.ListOptions{}); err != nil {
		t.Fatalf("read-only list: %v", err)
	}
	if _, err := ro.Submit(ctx, []byte("name: x\ntasks: [{name: a, command: 'true'}]")); !errors.Is(err, client.ErrForbidden) || errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("read-only submit: %v", err)
	}
	// Not retried: a watch of a missing job ends at once.
	if _, err := admin.Watch(ctx, "nope", nil); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("watch of a missing job: %v", err)
	}
}

// A standby without a leader answers 503 no_leader: the client waits for
// one within its timeout, then returns ErrNoLeader.
func TestNoLeaderWaitsThenFails(t *testing.T) {
	srv := testServer(t, &instantBackend{st: store.NewMemory(), standby: true})
	c := newClient(t, srv.URL, "tok", client.WithTimeout(700*time.Millisecond))
	start := time.Now()
	_, err := c.Submit(context.Background(), []byte("name: x\ntasks: [{name: a, command: 'true'}]"))
	if !errors.Is(err, client.ErrNoLeader) {
		t.Fatalf("no leader: %v", err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("gave up after %v, before its timeout", d)
	}
}

// A standby's 307 to a leader on another host keeps the token (and the
// body: the submit lands on the leader).
func TestRedirectToTheLeaderKeepsTheToken(t *testing.T) {
	leader := testServer(t, &instantBackend{st: store.NewMemory()})
	// "localhost" and 127.0.0.1 are different hosts to the HTTP client.
	to := strings.Replace(leader.URL, "127.0.0.1", "localhost", 1)
	standby := testServer(t, &instantBackend{st: store.NewMemory(), standby: true, leaderURL: to})
	c := newClient(t, standby.URL, "tok")
	sub, err := c.Submit(context.Background(), []byte("name: moved\ntasks: [{name: a, command: 'true'}]"))
	if err != nil || sub.ID != "moved-1" {
		t.Fatalf("submit through a standby: %+v %v", sub, err)
	}
	if _, err := newClient(t, leader.URL, "tok").Get(context.Background(), "moved-1"); err != nil {
		t.Fatalf("the leader has no job: %v", err)
	}
}

func TestNewRefusesABadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8470", "ftp://x", "http://"} {
		if _, err := client.New(u); err == nil || !strings.Contains(err.Error(), "API URL") {
			t.Errorf("New(%q): %v", u, err)
		}
	}
}

// A silent endpoint: requests and the start of streams are bounded by
// the timeout.
func TestTimeoutOnASilentEndpoint(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c := newClient(t, srv.URL, "tok", client.WithTimeout(300*time.Millisecond))
	if _, err := c.List(context.Background(), client.ListOptions{}); err == nil {
		t.Fatal("list of a silent endpoint returned")
	}
	if err := c.Logs(context.Background(), "j", "a", 0, client.LogsOptions{}, new(strings.Builder)); err == nil {
		t.Fatal("logs of a silent endpoint returned")
	}
}

// A watch stream that breaks off before the end is opened again.
func TestWatchReconnects(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Write([]byte(`{"id":"j","state":"running","tasks":[]}` + "\n"))
		case 2:
			w.WriteHeader(502)
		default:
			w.Write([]byte(`{"id":"j","state":"succeeded","tasks":[]}` + "\n"))
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, "tok")
	st, err := c.Watch(context.Background(), "j", nil)
	if err != nil || st.State != job.Succeeded || calls.Load() != 3 {
		t.Fatalf("watch: %v %v after %d calls", st.State, err, calls.Load())
	}
}

// The SDK's types decode what scheduler/api encodes without losing a key.
func TestTypesKeepTheAPIsKeys(t *testing.T) {
	exit := 4
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	in := api.Instance{Job: "j", Task: "a", Index: 3, State: job.Failed, Attempts: []api.AttemptView{{TaskID: "j.a.3.0", Attempt: 0, State: job.AttemptFailed,
		AgentID: "ag", Hostname: "h", ExitCode: &exit, Reason: "r", Message: "m", Created: now, Started: &now, Ended: &now, Signal: 9, Verdict: "v", NotBefore: &now}}}
	roundTrip(t, in, new(client.Instance))
	v := api.JobView{Status: job.Status{ID: "j", Name: "n", State: job.Running, Submitted: "2026-12-05T12:00:00Z", Reason: "x"},
		Tasks: []api.TaskView{{TaskStatus: job.TaskStatus{Name: "a", State: job.Pending, Instances: 2, Counts: job.Counts{Pending: 2}, Reason: "r", Depends: "b"},
			Why: &api.WhyView{Pending: matcher.Pending{Code: placement.UnschedulableForever, Reasons: []placement.ReasonCount{{Reason: "no cpu", Count: 2}}}, Agents: 2}}}}
	roundTrip(t, v, new(client.JobView))
	var cv client.JobView
	b, _ := json.Marshal(v)
	json.Unmarshal(b, &cv)
	if cv.Tasks[0].Why.Code != client.UnschedulableForever || cv.Tasks[0].Why.Agents != 2 {
		t.Fatalf("why code %q", cv.Tasks[0].Why.Code)
	}
}

func roundTrip(t *testing.T, from, to any) {
	t.Helper()
	a, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(a, to); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(to)
	var x, y any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	if string(ja) != string(jb) {
		t.Fatalf("API's JSON\n%s\nthrough the SDK's type\n%s", ja, jb)
	}
}

func TestListSpecInstancesPlan(t *testing.T) {
	srv := testServer(t, &instantBackend{st: store.NewMemory()})
	c := newClient(t, srv.URL, "tok")
	ctx := context.Background()
	for _, doc := range []string{
		"name: good\nlabels: {team: data}\ntasks: [{name: a, command: 'true', instances: 2}]",
		"name: bad\ntasks: [{name: a, command: 'false', retries: 0, instances: 3}]",
	} {
		sub, err := c.Submit(ctx, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Watch(ctx, sub.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	all, err := c.List(ctx, client.ListOptions{})
	if err != nil || len(all) != 2 || all[0].ID != "good-1" || all[0].Labels["team"] != "data" || all[0].Ended == nil {
		t.Fatalf("list: %+v %v", all, err)
	}
	for _, tc := range []struct {
		o    client.ListOptions
		want string
	}{
		{client.ListOptions{States: []job.State{job.Failed}}, "bad-1"},
		{client.ListOptions{Labels: map[string]string{"team": "data"}}, "good-1"},
		{client.ListOptions{Since: time.Now().Add(-time.Hour), Limit: 1}, "bad-1"},
		{client.ListOptions{Since: time.Now().Add(time.Hour)}, ""},
	} {
		got, err := c.List(ctx, tc.o)
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		if err != nil || strings.Join(ids, " ") != tc.want {
			t.Errorf("list %+v: %v %v; want %q", tc.o, ids, err, tc.want)
		}
	}
	if _, err := c.List(ctx, client.ListOptions{States: []job.State{"done"}}); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("list of an unknown state: %v", err)
	}
	sp, err := c.Spec(ctx, "good-1")
	if err != nil || sp.Name != "good" || sp.Tasks[0].Instances != 2 || sp.Labels["team"] != "data" {
		t.Fatalf("spec: %+v %v", sp, err)
	}
	page, err := c.Instances(ctx, "bad-1", client.InstancesOptions{States: []job.State{job.Failed}, Limit: 2})
	if err != nil || page.Total != 3 || len(page.Instances) != 2 || page.Instances[0].Attempts[0].Message != "exited with status 4" {
		t.Fatalf("instances: %+v %v", page, err)
	}
	plan, err := c.Plan(ctx, []byte("name: p\ntasks: [{name: a, command: 'true'}]"))
	if err != nil || plan.Name != "p" || len(plan.Tasks) != 1 || !plan.Tasks[0].Feasible || plan.Warning == "" {
		t.Fatalf("plan: %+v %v", plan, err)
	}
	if all, _ := c.List(ctx, client.ListOptions{}); len(all) != 2 {
		t.Fatalf("a plan submitted a job: %d jobs", len(all))
	}
	var ae *client.APIError
	if _, err := c.RunNow(ctx, "good-1"); !errors.As(err, &ae) || ae.Status != 501 {
		t.Fatalf("run-now on a backend without cron: %v", err)
	}
}
