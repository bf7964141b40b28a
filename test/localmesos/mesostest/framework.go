package mesostest

import (
	"bytes"
	"context"
	"fmt"
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

// Config says how a Framework subscribes.
type Config struct {
	// MasterURL is the master's base URL (http://host:port).
	MasterURL string
	// Codec encodes calls and events; nil means protobuf.
	Codec encoding.Codec
	// Info is sent in SUBSCRIBE; Info.ID, if set, re-subscribes that framework.
	Info mesos.FrameworkInfo
	// NoAck leaves status updates unacknowledged (the test acknowledges them).
	NoAck bool
}

// Framework is a mesos-go framework driven by controller.Run, recording every
// event it receives. Status updates are acknowledged unless Config.NoAck.
type Framework struct {
	Caller calls.Caller

	tb      testing.TB
	id      store.Singleton
	info    mesos.FrameworkInfo
	cancel  context.CancelFunc
	done    chan error
	mu      sync.Mutex
	events  []*scheduler.Event
	changed chan struct{}

	stopOnce sync.Once
}

// Start subscribes a framework like a real one would, re-subscribing every
// 100 ms while it is not subscribed; it stops when the test ends.
func Start(tb testing.TB, cfg Config) *Framework {
	tb.Helper()
	codec := cfg.Codec
	if codec.Type == "" {
		codec = codecs.ByMediaType[codecs.MediaTypeProtobuf]
	}
	f := &Framework{tb: tb, id: store.NewInMemorySingleton(), done: make(chan error, 1), changed: make(chan struct{}, 1), info: cfg.Info}
	if cfg.Info.ID != nil {
		f.id.Set(cfg.Info.ID.Value)
	}
	cli := httpsched.NewCaller(httpcli.New(
		httpcli.Endpoint(cfg.MasterURL+"/api/v1/scheduler"),
		httpcli.Codec(codec),
		httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))),
	))
	f.Caller = callrules.New(callrules.WithFrameworkID(store.GetIgnoreErrors(f.id))).Caller(cli)
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
	ft := time.Duration(cfg.Info.GetFailoverTimeout() * float64(time.Second))
	handlers := events.Handlers{
		scheduler.Event_SUBSCRIBED: controller.TrackSubscription(f.id, ft),
	}
	if !cfg.NoAck {
		handlers[scheduler.Event_UPDATE] = controller.AckStatusUpdates(f.Caller)
	}
	h := eventrules.New(record, controller.LiftErrors().DropOnError()).Handle(handlers.Otherwise(events.NoopHandler.HandleEvent))
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() {
		f.done <- controller.Run(ctx, &f.info, f.Caller,
			controller.WithEventHandler(h),
			controller.WithFrameworkID(store.GetIgnoreErrors(f.id)),
			controller.WithRegistrationTokens(FastBackoff(ctx)),
		)
	}()
	tb.Cleanup(f.Stop)
	return f
}

// FastBackoff gives controller.Run a registration token every 100 ms, so it
// re-subscribes quickly.
func FastBackoff(ctx context.Context) <-chan struct{} {
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

// Stop ends controller.Run (once) and waits for it.
func (f *Framework) Stop() {
	f.stopOnce.Do(func() {
		f.cancel()
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
			f.tb.Errorf("controller.Run did not return")
		}
	})
}

// TB returns the test or benchmark the framework was started for.
func (f *Framework) TB() testing.TB { return f.tb }

// ID returns the framework ID once subscribed.
func (f *Framework) ID() string { return store.GetIgnoreErrors(f.id)() }

// Call sends a call and fails the test on error.
func (f *Framework) Call(c *scheduler.Call) {
	f.tb.Helper()
	if err := calls.CallNoData(context.Background(), f.Caller, c); err != nil {
		f.tb.Fatalf("%s: %v", c.GetType(), err)
	}
}

// Await waits up to timeout for an event matching pred, scanning from index
// *from, and returns it; *from moves past it.
func (f *Framework) Await(from *int, what string, timeout time.Duration, pred func(*scheduler.Event) bool) *scheduler.Event {
	f.tb.Helper()
	deadline := time.After(timeout)
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
			f.tb.Fatalf("timed out waiting for %s; events: %s", what, f.Summary())
			return nil
		}
	}
}

// None checks that no event matching pred arrives within d, looking from
// index from.
func (f *Framework) None(from int, d time.Duration, what string, pred func(*scheduler.Event) bool) {
	f.tb.Helper()
	end := time.After(d)
	for {
		f.mu.Lock()
		for i := from; i < len(f.events); i++ {
			if pred(f.events[i]) {
				e := f.events[i]
				f.mu.Unlock()
				f.tb.Fatalf("unexpected %s: %v", what, e)
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

// Summary lists the events received so far: types, and task, state and
// reason of updates.
func (f *Framework) Summary() string {
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

// IsType matches events of type t.
func IsType(t scheduler.Event_Type) func(*scheduler.Event) bool {
	return func(e *scheduler.Event) bool { return e.Type == t }
}

// IsUpdate matches status updates of task taskID in any of states.
func IsUpdate(taskID string, states ...mesos.TaskState) func(*scheduler.Event) bool {
	return func(e *scheduler.Event) bool {
		if e.Type != scheduler.Event_UPDATE || e.Update.Status.TaskID.Value != taskID {
			return false
		}
		for _, s := range states {
			if e.Update.Status.GetState() == s {
				return true
			}
		}
		return false
	}
}

// ResourcesLike builds cpus and mem resources shaped like the offer's
// unreserved ones (role, allocation info) so they validate against it; a
// zero amount is left out.
func ResourcesLike(o mesos.Offer, cpus, mem float64) []mesos.Resource {
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
