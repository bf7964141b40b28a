package framework

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// scriptedMaster is a Mesos master the test drives: it refuses
// subscriptions while away, records KILL and explicit RECONCILE calls, and
// pushes the events the test gives it into the current stream.
type scriptedMaster struct {
	away       atomic.Bool
	mu         sync.Mutex
	subscribes int
	kills      []string
	acks       []string // task id/uuid
	reconciles [][]string
	events     chan scheduler.Event
	breakc     chan struct{}
}

func newScriptedMaster() *scriptedMaster {
	return &scriptedMaster{events: make(chan scheduler.Event, 16), breakc: make(chan struct{}, 1)}
}

func (m *scriptedMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, ok := readCall(w, r)
	if !ok {
		return
	}
	m.mu.Lock()
	switch c.GetType() {
	case scheduler.Call_KILL:
		m.kills = append(m.kills, c.GetKill().TaskID.Value)
	case scheduler.Call_ACKNOWLEDGE:
		m.acks = append(m.acks, c.GetAcknowledge().TaskID.Value+"/"+string(c.GetAcknowledge().UUID))
	case scheduler.Call_RECONCILE:
		var ids []string
		for _, t := range c.GetReconcile().GetTasks() {
			ids = append(ids, t.TaskID.Value)
		}
		sort.Strings(ids)
		if len(ids) > 0 {
			m.reconciles = append(m.reconciles, ids)
		}
	}
	if c.GetType() != scheduler.Call_SUBSCRIBE {
		m.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if m.away.Load() {
		m.mu.Unlock()
		http.Error(w, "master away", http.StatusServiceUnavailable)
		return
	}
	m.subscribes++
	stream := fmt.Sprintf("stream-%d", m.subscribes)
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Header().Set("Mesos-Stream-Id", stream)
	w.WriteHeader(http.StatusOK)
	send := func(ev scheduler.Event) {
		b, _ := ev.Marshal()
		fmt.Fprintf(w, "%d\n", len(b))
		w.Write(b)
		w.(http.Flusher).Flush()
	}
	send(scheduler.Event{Type: scheduler.Event_SUBSCRIBED, Subscribed: &scheduler.Event_Subscribed{
		FrameworkID: &mesos.FrameworkID{Value: "fw-1"}, HeartbeatIntervalSeconds: proto(15.0)}})
	for {
		select {
		case <-r.Context().Done():
			return
		case <-m.breakc:
			return
		case ev := <-m.events:
			send(ev)
		}
	}
}

// update pushes a status update (no uuid: nothing to acknowledge).
func (m *scriptedMaster) update(id string, st mesos.TaskState) {
	m.events <- scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: id}, State: st.Enum(), AgentID: &mesos.AgentID{Value: "agent-1"}}}}
}

// reliableUpdate pushes a status update as an agent sends it, with a uuid
// to acknowledge.
func (m *scriptedMaster) reliableUpdate(id string, st mesos.TaskState, uuid string) {
	m.events <- scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: id}, State: st.Enum(), AgentID: &mesos.AgentID{Value: "agent-1"},
		Source: mesos.SOURCE_EXECUTOR.Enum(), UUID: []byte(uuid)}}}
}

func (m *scriptedMaster) acked() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.acks)
}

func (m *scriptedMaster) snapshot() (subs int, kills []string, recs [][]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subscribes, slices.Clone(m.kills), slices.Clone(m.reconciles)
}

func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func runFramework(t *testing.T, m *scriptedMaster, eng *engine.Engine, cfg Config) *Framework {
	t.Helper()
	return runFrameworkOn(t, m, store.NewMemory(), eng, cfg)
}

func runFrameworkOn(t *testing.T, m *scriptedMaster, st store.Store, eng *engine.Engine, cfg Config) *Framework {
	t.Helper()
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	cfg.Masters = []string{srv.URL}
	cfg.MinBackoff, cfg.MaxBackoff, cfg.RequestTimeout = 10*time.Millisecond, 50*time.Millisecond, 2*time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	f := New(cfg, st, eng)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// A KILL sent while no master is reachable is sent again once subscribed,
// and forgotten once the task's terminal update came.
func TestKillResentAfterResubscribe(t *testing.T) {
	m := newScriptedMaster()
	m.away.Store(true)
	f := runFramework(t, m, engine.New(nil), Config{})
	f.Kill(context.Background(), map[string]string{"j.t.0.0": "agent-1"}) // fails: not subscribed
	if _, kills, _ := m.snapshot(); len(kills) != 0 {
		t.Fatalf("a KILL reached the master while it was away: %v", kills)
	}
	m.away.Store(false)
	await(t, "the KILL re-sent after subscribing", func() bool {
		_, kills, _ := m.snapshot()
		return slices.Equal(kills, []string{"j.t.0.0"})
	})
	m.update("j.t.0.0", mesos.TASK_KILLED)
	await(t, "the answered KILL forgotten", func() bool { return len(f.awaited.killsWanted()) == 0 })

	// Another KILL that the connection loses before its answer is sent
	// again on the next subscription.
	f.Kill(context.Background(), map[string]string{"j.t.1.0": "agent-1"})
	m.breakc <- struct{}{}
	await(t, "a second subscription and the unanswered KILL again", func() bool {
		subs, kills, _ := m.snapshot()
		return subs >= 2 && slices.Equal(kills, []string{"j.t.0.0", "j.t.1.0", "j.t.1.0"})
	})
}

func loadRunning(t *testing.T, n int) *engine.Engine {
	t.Helper()
	j := &job.Job{ID: "j", Submitted: time.Now(), Spec: job.Spec{Name: "j", Tasks: []job.TaskSpec{
		{Name: "t", Command: "true", Instances: n, Resources: job.Resources{CPUs: 0.1, Mem: 16}}}}}
	var as []job.Attempt
	for i := 0; i < n; i++ {
		as = append(as, job.Attempt{Job: "j", Task: "t", Index: i, State: job.AttemptRunning, AgentID: "agent-1", Created: time.Now()})
	}
	eng := engine.New(nil)
	eng.Load([]*job.Job{j}, map[string][]job.Attempt{"j": as})
	if got := len(eng.Reconcilable()); got != n {
		t.Fatalf("%d reconcilable attempts, want %d", got, n)
	}
	return eng
}

// Explicit reconciliation asks again, with backoff, only for the tasks not
// heard from since it began, one loop at a time, and stops once all answered.
func TestReconcileRetriesSilentTasks(t *testing.T) {
	m := newScriptedMaster()
	f := runFramework(t, m, loadRunning(t, 2), Config{ReconcileMinBackoff: 10 * time.Millisecond, ReconcileMaxBackoff: 40 * time.Millisecond,
		ReconcileInterval: time.Hour})
	both := []string{"j.t.0.0", "j.t.1.0"}
	await(t, "the first explicit reconciliation", func() bool {
		_, _, recs := m.snapshot()
		return len(recs) > 0 && slices.Equal(recs[0], both)
	})
	m.update("j.t.0.0", mesos.TASK_RUNNING)
	await(t, "three more rounds for the silent task only", func() bool {
		_, _, recs := m.snapshot()
		only := 0
		for _, r := range recs {
			if slices.Equal(r, []string{"j.t.1.0"}) {
				only++
			}
		}
		return only >= 3
	})
	_, _, recs := m.snapshot()
	seenOnly := false
	for _, r := range recs {
		switch {
		case slices.Equal(r, []string{"j.t.1.0"}):
			seenOnly = true
		case seenOnly:
			t.Fatalf("task that answered asked about again: %v", recs)
		}
	}
	// While the loop runs, no second one starts (the refused start only
	// wakes the running loop, as a new subscription does).
	if f.startReconcile() {
		t.Fatal("a second reconciliation loop started while one runs")
	}
	await(t, "the woken loop asking about every attempt", func() bool {
		_, _, now := m.snapshot()
		for _, r := range now[len(recs):] {
			if slices.Equal(r, both) {
				return true
			}
		}
		return false
	})
	// A new subscription asks about every active attempt again.
	m.update("j.t.0.0", mesos.TASK_RUNNING)
	await(t, "a round for the silent task only after the answer", func() bool {
		_, _, now := m.snapshot()
		return len(now) > 0 && slices.Equal(now[len(now)-1], []string{"j.t.1.0"})
	})
	_, _, recs = m.snapshot()
	n := len(recs)
	m.breakc <- struct{}{}
	await(t, "every attempt reconciled after re-subscribing", func() bool {
		subs, _, recs := m.snapshot()
		if subs < 2 {
			return false
		}
		for _, r := range recs[n:] {
			if slices.Equal(r, both) {
				return true
			}
		}
		return false
	})
	m.update("j.t.0.0", mesos.TASK_RUNNING)
	m.update("j.t.1.0", mesos.TASK_RUNNING)
	await(t, "the loop to end once every task answered", func() bool { return !f.Reconciling() })
	if !f.startReconcile() {
		t.Fatal("no new loop could start after the first ended")
	}
}

func TestNextBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		min, max time.Duration
		want     []time.Duration
	}{
		{20 * ms, 80 * ms, []time.Duration{20 * ms, 40 * ms, 80 * ms, 80 * ms}},
		{3 * ms, 10 * ms, []time.Duration{3 * ms, 6 * ms, 10 * ms, 10 * ms}},
		{5 * ms, 5 * ms, []time.Duration{5 * ms, 5 * ms}},
	} {
		var got []time.Duration
		d := time.Duration(0)
		for range tc.want {
			d = nextBackoff(d, tc.min, tc.max)
			got = append(got, d)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("backoff %v..%v = %v, want %v", tc.min, tc.max, got, tc.want)
		}
	}
}

// Every launched task carries the kill grace period as its kill_policy,
// which Mesos applies to each KILL of it.
func TestTaskInfoKillPolicy(t *testing.T) {
	l := engine.Launch{Attempt: job.Attempt{Job: "j", Task: "t"}, Spec: &job.TaskSpec{Name: "t", Command: "true", Instances: 1}}
	for _, tc := range []struct {
		grace time.Duration
		want  int64 // nanoseconds; -1: no kill policy
	}{{0, int64(3 * time.Second)}, {5 * time.Second, int64(5 * time.Second)}, {-1, -1}} {
		f := New(Config{KillGracePeriod: tc.grace}, store.NewMemory(), engine.New(nil))
		ti, err := f.taskInfo(l, mesos.AgentID{Value: "a1"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := int64(-1)
		if kp := ti.GetKillPolicy(); kp != nil {
			got = kp.GetGracePeriod().GetNanoseconds()
		}
		if got != tc.want {
			t.Errorf("grace %v: kill_policy %d ns, want %d", tc.grace, got, tc.want)
		}
	}
}
