package framework

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/store"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// readCall decodes the protobuf scheduler call a fake master receives; on a
// wrong path or a bad body it answers the request itself and ok is false.
func readCall(w http.ResponseWriter, r *http.Request) (c scheduler.Call, ok bool) {
	if r.URL.Path != "/api/v1/scheduler" {
		http.NotFound(w, r)
		return c, false
	}
	body, _ := io.ReadAll(r.Body)
	if err := c.Unmarshal(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return c, false
	}
	return c, true
}

// silentMaster answers SUBSCRIBE with SUBSCRIBED and then never sends
// another event (a half-dead connection); every other call gets 202.
type silentMaster struct {
	mu         sync.Mutex
	subscribes int
	fwIDs      []string
	calls      []scheduler.Call_Type
}

func (m *silentMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, ok := readCall(w, r)
	if !ok {
		return
	}
	m.mu.Lock()
	m.calls = append(m.calls, c.GetType())
	if c.GetType() != scheduler.Call_SUBSCRIBE {
		m.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	m.subscribes++
	m.fwIDs = append(m.fwIDs, c.GetSubscribe().GetFrameworkInfo().GetID().GetValue())
	m.mu.Unlock()
	ev := scheduler.Event{Type: scheduler.Event_SUBSCRIBED, Subscribed: &scheduler.Event_Subscribed{
		FrameworkID: &mesos.FrameworkID{Value: "fw-1"}, HeartbeatIntervalSeconds: proto(15.0)}}
	b, _ := ev.Marshal()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Header().Set("Mesos-Stream-Id", fmt.Sprintf("stream-%d", m.subscribes))
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "%d\n", len(b))
	w.Write(b)
	w.(http.Flusher).Flush()
	<-r.Context().Done() // silent from now on
}

func (m *silentMaster) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subscribes
}

func TestHeartbeatWatchdogResubscribes(t *testing.T) {
	m := &silentMaster{}
	srv := httptest.NewServer(m)
	defer srv.Close()
	st := store.NewMemory()
	f := New(Config{Masters: []string{srv.URL}, HeartbeatTimeout: 300 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, RequestTimeout: 2 * time.Second}, st, engine.New(nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(10 * time.Second)
	for m.count() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d subscriptions: the watchdog did not drop the silent stream", m.count())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The framework id from the first SUBSCRIBED was stored and reused.
	if id, _ := st.FrameworkID(context.Background()); id != "fw-1" {
		t.Fatalf("stored framework id %q", id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fwIDs[0] != "" || m.fwIDs[2] != "fw-1" {
		t.Fatalf("subscribe framework ids = %q, want first empty then fw-1", m.fwIDs)
	}
}

func TestFrameworkInfo(t *testing.T) {
	c := Config{Principal: "p", Roles: []string{"batch", "gpu"}}
	c.defaults()
	fi := c.FrameworkInfo("fw-9")
	if fi.GetID().GetValue() != "fw-9" || !fi.GetCheckpoint() || fi.GetFailoverTimeout() != 7*24*3600 || fi.GetPrincipal() != "p" || len(fi.Roles) != 2 || fi.Role != nil {
		t.Fatalf("FrameworkInfo = %+v", fi)
	}
	want := map[mesos.FrameworkInfo_Capability_Type]bool{
		mesos.FrameworkInfo_Capability_MULTI_ROLE: true, mesos.FrameworkInfo_Capability_PARTITION_AWARE: true,
		mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT: true, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE: true,
		mesos.FrameworkInfo_Capability_GPU_RESOURCES: true,
	}
	for _, c := range fi.Capabilities {
		delete(want, c.Type)
	}
	if len(want) != 0 {
		t.Fatalf("missing capabilities %v", want)
	}
}
