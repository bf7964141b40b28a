package localmesos

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/recordio"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// rawSub is a subscription made with plain HTTP, to check status codes.
type rawSub struct {
	resp     *http.Response
	streamID string
	fwID     string
	events   chan *scheduler.Event
	held     *scheduler.Event // an ERROR seen while subscribing
	cancel   context.CancelFunc
}

func jsonBody(t testing.TB, m any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawSubscribe subscribes with JSON and decodes events in the background.
func rawSubscribe(t testing.TB, c *Cluster, info mesos.FrameworkInfo) *rawSub {
	t.Helper()
	if info.User == "" {
		info.User = "raw"
	}
	if info.Name == "" {
		info.Name = "raw"
	}
	call := &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, FrameworkID: info.ID, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: &info}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.MasterURL()+"/api/v1/scheduler", strings.NewReader(string(jsonBody(t, call))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("subscribe: %v", err)
	}
	s := &rawSub{resp: resp, streamID: resp.Header.Get("Mesos-Stream-Id"), events: make(chan *scheduler.Event, 1000), cancel: cancel}
	t.Cleanup(s.close)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe: status %d", resp.StatusCode)
	}
	go func() {
		defer close(s.events)
		r := recordio.NewReader(resp.Body)
		for {
			b, err := r.ReadFrame()
			if err != nil {
				return
			}
			var e scheduler.Event
			if err := json.Unmarshal(b, &e); err != nil {
				return
			}
			s.events <- &e
		}
	}()
	e := s.next(t, scheduler.Event_SUBSCRIBED, scheduler.Event_ERROR)
	if e.Type == scheduler.Event_SUBSCRIBED {
		s.fwID = e.Subscribed.FrameworkID.Value
	} else {
		s.held = e // let the caller see the error
	}
	return s
}

func (s *rawSub) close() { s.cancel(); s.resp.Body.Close() }

// next returns the next event of one of the given types, skipping others.
func (s *rawSub) next(t testing.TB, types ...scheduler.Event_Type) *scheduler.Event {
	t.Helper()
	if e := s.held; e != nil {
		s.held = nil
		for _, ty := range types {
			if e.Type == ty {
				return e
			}
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended while waiting for %v", types)
			}
			for _, ty := range types {
				if e.Type == ty {
					return e
				}
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %v", types)
		}
	}
}

// ended waits for the stream to end.
func (s *rawSub) ended(t testing.TB) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("stream did not end")
		}
	}
}

// post sends a JSON call on behalf of the subscription.
func (s *rawSub) post(t testing.TB, c *Cluster, call *scheduler.Call) (int, string, http.Header) {
	t.Helper()
	if call.FrameworkID == nil && s.fwID != "" {
		call.FrameworkID = &mesos.FrameworkID{Value: s.fwID}
	}
	return rawPost(t, c.MasterURL()+"/api/v1/scheduler", "application/json", "application/json", s.streamID, jsonBody(t, call))
}
