package localmesos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/callrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/eventrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/store"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"
)

var (
	protobufCodec = codecs.ByMediaType[codecs.MediaTypeProtobuf]
	jsonCodec     = codecs.ByMediaType[codecs.MediaTypeJSON]
)

// codecsUnderTest runs a test once per codec.
func forEachCodec(t *testing.T, f func(t *testing.T, codec encoding.Codec)) {
	for _, c := range []encoding.Codec{protobufCodec, jsonCodec} {
		c := c
		t.Run(c.Type.ContentType(), func(t *testing.T) { f(t, c) })
	}
}

// startCluster starts a cluster of fake agents for one test of the master,
// with fast allocation. Fake agents run tasks by their command: "exit 0"
// finishes, "exit N" fails, anything else runs until killed.
func startCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	cfg.fakeAgents = true
	return startRealCluster(t, cfg)
}

// startRealCluster starts a cluster of real local agents.
func startRealCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.AllocationInterval == 0 {
		cfg.AllocationInterval = 50 * time.Millisecond
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = t.TempDir()
	}
	c, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// fw is a mesos-go framework driven by controller.Run, recording events.
type fw struct {
	t       testing.TB
	caller  calls.Caller
	id      store.Singleton
	cancel  context.CancelFunc
	done    chan error
	mu      sync.Mutex
	events  []*scheduler.Event
	changed chan struct{}
	info    mesos.FrameworkInfo

	stopOnce sync.Once
}

type fwOpt func(*fwOpts)

type fwOpts struct {
	noAck bool
}

func noAutoAck() fwOpt { return func(o *fwOpts) { o.noAck = true } }

// startFramework subscribes a framework like a real one would.
func startFramework(t testing.TB, c *Cluster, codec encoding.Codec, info mesos.FrameworkInfo, opts ...fwOpt) *fw {
	t.Helper()
	var o fwOpts
	for _, f := range opts {
		f(&o)
	}
	if info.User == "" {
		info.User = "tester"
	}
	if info.Name == "" {
		info.Name = "conformance"
	}
	f := &fw{t: t, id: store.NewInMemorySingleton(), done: make(chan error, 1), changed: make(chan struct{}, 1), info: info}
	if info.ID != nil {
		f.id.Set(info.ID.Value)
	}
	cli := httpsched.NewCaller(httpcli.New(
		httpcli.Endpoint(c.MasterURL()+"/api/v1/scheduler"),
		httpcli.Codec(codec),
		httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))),
	))
	f.caller = callrules.New(callrules.WithFrameworkID(store.GetIgnoreErrors(f.id))).Caller(cli)
	record := eventrules.HandleF(func(ctx context.Context, e *scheduler.Event) error {
		f.mu.Lock()
		f.events = append(f.events, e)
		f.mu.Unlock()
		select {
		case f.changed <- struct{}{}:
		default:
		}
		return nil
	})
	ft := time.Duration(info.GetFailoverTimeout() * float64(time.Second))
	handlers := events.Handlers{
		scheduler.Event_SUBSCRIBED: controller.TrackSubscription(f.id, ft),
	}
	if !o.noAck {
		handlers[scheduler.Event_UPDATE] = controller.AckStatusUpdates(f.caller)
	}
	h := eventrules.New(record, controller.LiftErrors().DropOnError()).Handle(handlers.Otherwise(events.NoopHandler.HandleEvent))
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() {
		f.done <- controller.Run(ctx, &f.info, f.caller,
			controller.WithEventHandler(h),
			controller.WithFrameworkID(store.GetIgnoreErrors(f.id)),
			controller.WithRegistrationTokens(fastBackoff(ctx)),
		)
	}()
	t.Cleanup(f.stop)
	return f
}

// fastBackoff lets controller.Run re-subscribe quickly.
func fastBackoff(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

func (f *fw) stop() {
	f.stopOnce.Do(func() {
		f.cancel()
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
			f.t.Errorf("controller.Run did not return")
		}
	})
}

// ID returns the framework ID once subscribed.
func (f *fw) ID() string { return store.GetIgnoreErrors(f.id)() }

// call sends a call and fails the test on error.
func (f *fw) call(c *scheduler.Call) {
	f.t.Helper()
	if err := calls.CallNoData(context.Background(), f.caller, c); err != nil {
		f.t.Fatalf("%s: %v", c.GetType(), err)
	}
}

// await waits for an event matching pred, scanning from index *from, and
// returns it; *from moves past it.
func (f *fw) await(from *int, what string, pred func(*scheduler.Event) bool) *scheduler.Event {
	f.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		f.mu.Lock()
		for i := *from; i < len(f.events); i++ {
			if pred(f.events[i]) {
				*from = i + 1
				e := f.events[i]
				f.mu.Unlock()
				return e
			}
		}
		f.mu.Unlock()
		select {
		case <-f.changed:
		case <-deadline:
			f.t.Fatalf("timed out waiting for %s; events: %s", what, f.summary())
			return nil
		}
	}
}

// none checks that no event matching pred arrives within d.
func (f *fw) none(from int, d time.Duration, what string, pred func(*scheduler.Event) bool) {
	f.t.Helper()
	end := time.After(d)
	for {
		f.mu.Lock()
		for i := from; i < len(f.events); i++ {
			if pred(f.events[i]) {
				e := f.events[i]
				f.mu.Unlock()
				f.t.Fatalf("unexpected %s: %v", what, e)
			}
		}
		f.mu.Unlock()
		select {
		case <-f.changed:
		case <-end:
			return
		}
	}
}

func (f *fw) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b bytes.Buffer
	for _, e := range f.events {
		fmt.Fprintf(&b, "%s ", e.Type)
		if e.Type == scheduler.Event_UPDATE {
			fmt.Fprintf(&b, "(%s %s %s) ", e.Update.Status.TaskID.Value, e.Update.Status.GetState(), e.Update.Status.GetReason())
		}
	}
	return b.String()
}

func isType(t scheduler.Event_Type) func(*scheduler.Event) bool {
	return func(e *scheduler.Event) bool { return e.Type == t }
}

func isUpdate(taskID string, state mesos.TaskState) func(*scheduler.Event) bool {
	return func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == taskID && e.Update.Status.GetState() == state
	}
}

// awaitOffers waits for an OFFERS event and returns its offers.
func (f *fw) awaitOffers(from *int) []mesos.Offer {
	f.t.Helper()
	return f.await(from, "OFFERS", isType(scheduler.Event_OFFERS)).Offers.Offers
}

// commandTask builds a command task using the given resources of an offer.
func commandTask(id string, o mesos.Offer, cmd string, cpus, mem float64) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
		Command:   &mesos.CommandInfo{Value: &cmd},
		Resources: resourcesLike(o, cpus, mem),
	}
}

// resourcesLike builds cpus/mem resources shaped like the offer's (role,
// allocation info) so they validate against it.
func resourcesLike(o mesos.Offer, cpus, mem float64) []mesos.Resource {
	var out []mesos.Resource
	for _, want := range []struct {
		name string
		v    float64
	}{{"cpus", cpus}, {"mem", mem}} {
		if want.v == 0 {
			continue
		}
		for _, r := range o.Resources {
			if r.Name == want.name && len(r.Reservations) == 0 && r.Reservation == nil && r.GetRole() == "*" {
				x := r
				x.Scalar = &mesos.Value_Scalar{Value: want.v}
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// rawPost sends a body to a master path and returns status and body.
func rawPost(t testing.TB, url, contentType, accept, streamID string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), resp.Header
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
