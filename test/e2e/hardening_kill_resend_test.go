package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// flakyProxy stands between the scheduler and the master: while away it
// cuts every stream and answers 503, like a network partition.
type flakyProxy struct {
	rp      *httputil.ReverseProxy
	away    atomic.Bool
	mu      sync.Mutex
	cancels map[*http.Request]context.CancelFunc
}

func newFlakyProxy(t *testing.T, master string) *httptest.Server {
	u, err := url.Parse(master)
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{cancels: map[*http.Request]context.CancelFunc{}}
	srv := httptest.NewUnstartedServer(p)
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.FlushInterval = -1 // the subscription is a stream
	p.rp.ModifyResponse = func(r *http.Response) error {
		if r.Header.Get("Location") != "" { // /redirect names the master: keep the scheduler here
			r.Header.Set("Location", "//"+srv.Listener.Addr().String())
		}
		return nil
	}
	srv.Start()
	t.Cleanup(srv.Close)
	proxies.Store(srv, p)
	return srv
}

var proxies sync.Map // *httptest.Server → *flakyProxy

func (p *flakyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.away.Load() {
		http.Error(w, "partitioned", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	r = r.WithContext(ctx)
	p.mu.Lock()
	p.cancels[r] = cancel
	p.mu.Unlock()
	defer func() { p.mu.Lock(); delete(p.cancels, r); p.mu.Unlock() }()
	p.rp.ServeHTTP(w, r)
}

func setAway(srv *httptest.Server, away bool) {
	v, _ := proxies.Load(srv)
	p := v.(*flakyProxy)
	p.away.Store(away)
	if away {
		p.mu.Lock()
		for _, c := range p.cancels {
			c()
		}
		p.mu.Unlock()
	}
}

// A new leader that cannot reach the master yet kills an attempt whose
// timeout passed: the KILL reaches Mesos once the leader subscribes, so the
// task ends instead of running its full minute. Two mechanisms can carry
// it: mesos-go holds a call made while the subscription is down until it
// is up again, and the framework remembers every KILL until the task's
// terminal update and sends it again after each SUBSCRIBED (for calls that
// fail: request timeout, master errors, no subscription attempt yet —
// proven on its own in scheduler/framework TestKillResentAfterResubscribe).
func TestKillSentWhileDisconnectedIsResent(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Simulated: true})
	proxy := newFlakyProxy(t, env.mesos.MasterURL())
	a, stopA := env.startNode("a")
	j := submit(t, []*node.Node{a}, mustSpec(t, `
name: resend
tasks:
  - name: work
    command: "true"
    retries: 0
    timeout: 2s
    labels: {"localmesos.sim/duration": "60s"}
`))
	var first job.Attempt
	waitFor(t, "the attempt running", 20*time.Second, func() bool {
		_, as := status(t, a, j.ID)
		if len(as) == 1 && as[0].State == job.AttemptRunning {
			first = as[0]
			return true
		}
		return false
	})
	// Leader a dies; b takes over but cannot reach the master.
	setAway(proxy, true)
	b, _ := env.startNode("b", func(c *node.Config) {
		c.Framework.Masters = []string{proxy.URL}
		c.Framework.RequestTimeout = time.Second
	})
	stopA()
	waitFor(t, "b to lead", 20*time.Second, b.IsLeader)
	// b's engine ticks while unsubscribed: the attempt's 2 s timeout has
	// passed, so it sends (and fails to send) the KILL.
	waitFor(t, "the attempt's timeout to pass under b", 10*time.Second, func() bool {
		return time.Since(first.Started) > 3*time.Second
	})
	if b.Subscribed() {
		t.Fatal("b subscribed through the partition")
	}
	if got := env.mesos.Master().Metrics()["master/tasks_killed"]; got != 0 {
		t.Fatalf("a KILL reached the master through the partition (%v killed)", got)
	}
	setAway(proxy, false)
	st, as := waitJob(t, b, j.ID, 30*time.Second) // far less than the task's 60 s
	if st.State != job.Failed || len(as) != 1 || as[0].State != job.AttemptKilled || as[0].Reason != engine.ReasonTimeout {
		t.Fatalf("job %s, attempts %+v", st.State, as)
	}
	if got := env.mesos.Master().Metrics()["master/tasks_killed"]; got != 1 {
		t.Fatalf("mesos killed %v tasks, want 1", got)
	}
}
