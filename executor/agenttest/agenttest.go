package agenttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"

	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// Agent is the fake agent.
type Agent struct {
	FrameworkID string
	ExecutorID  string
	// Capabilities are advertised in the framework info sent with SUBSCRIBED.
	Capabilities []mesos.FrameworkInfo_Capability_Type
	// ResubscribeWindow, as a Mesos agent's --executor_reregistration_timeout:
	// after a Restart the executor must subscribe within it, or the restart
	// counts as missed (MissedResubscribes); a real agent kills the executor.
	ResubscribeWindow time.Duration
	// BlackHoleWhileDown makes Restart's address accept connections and never
	// answer while the agent is down (a hung agent or a dropped network):
	// an executor's attempt then hangs unless it gives up on its own.
	BlackHoleWhileDown bool

	mu         sync.Mutex
	addr       string
	srv        *http.Server
	ln         net.Listener
	stream     *wire.Stream
	streamDone chan struct{}
	queue      []executor.Event
	updates    []mesos.TaskStatus
	seen       map[string]bool
	subscribes []executor.Call_Subscribe
	changed    chan struct{}
	holdAcks   bool
	missed     int
	backAt     time.Time       // when the last Restart listened again
	resubDelay []time.Duration // from each Restart to the SUBSCRIBE that followed
	held       []net.Conn      // black-holed connections, open until Close
}

// Start listens on 127.0.0.1 (port 0).
func Start() (*Agent, error) {
	a := &Agent{FrameworkID: "fw-1", ExecutorID: "exec-1", seen: map[string]bool{}, changed: make(chan struct{})}
	if err := a.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Agent) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/executor", a.serve)
	srv := &http.Server{Handler: mux}
	a.mu.Lock()
	a.ln, a.srv, a.addr = ln, srv, ln.Addr().String()
	a.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Addr is host:port of the executor API.
func (a *Agent) Addr() string { a.mu.Lock(); defer a.mu.Unlock(); return a.addr }

// Config is the executor configuration an agent would put in MESOS_*.
func (a *Agent) Config(sandbox string, checkpoint bool) config.Config {
	c := config.Config{
		FrameworkID: a.FrameworkID, ExecutorID: a.ExecutorID, Directory: sandbox, Sandbox: sandbox,
		AgentEndpoint: a.Addr(), ExecutorShutdownGracePeriod: 5 * time.Second,
	}
	if checkpoint {
		c.Checkpoint, c.RecoveryTimeout, c.SubscriptionBackoffMax = true, 30*time.Second, 500*time.Millisecond
	}
	return c
}

// Env is Config as MESOS_* environment variables.
func (a *Agent) Env(sandbox string, checkpoint bool) []string {
	env := []string{
		"MESOS_FRAMEWORK_ID=" + a.FrameworkID, "MESOS_EXECUTOR_ID=" + a.ExecutorID,
		"MESOS_DIRECTORY=" + sandbox, "MESOS_SANDBOX=" + sandbox, "MESOS_AGENT_ENDPOINT=" + a.Addr(),
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5secs",
	}
	if checkpoint {
		env = append(env, "MESOS_CHECKPOINT=1", "MESOS_RECOVERY_TIMEOUT=30secs", "MESOS_SUBSCRIPTION_BACKOFF_MAX=500ms")
	} else {
		env = append(env, "MESOS_CHECKPOINT=0")
	}
	return env
}

func (a *Agent) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *Agent) serve(w http.ResponseWriter, r *http.Request) {
	var call executor.Call
	req, err := wire.ReadCall(r, &call)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	if call.FrameworkID.Value != a.FrameworkID || call.ExecutorID.Value != a.ExecutorID {
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Executor cannot be found"))
		return
	}
	switch call.GetType() {
	case executor.Call_SUBSCRIBE:
		a.subscribe(w, r, req, call.GetSubscribe())
	case executor.Call_UPDATE:
		st := call.GetUpdate().Status
		if !wire.ValidUUID(st.UUID) || st.GetSource() != mesos.SOURCE_EXECUTOR || st.GetState() == mesos.TASK_STAGING {
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "invalid status update"))
			return
		}
		a.mu.Lock()
		if a.stream == nil {
			a.mu.Unlock()
			wire.WriteError(w, wire.Errorf(http.StatusForbidden, "Executor is not subscribed"))
			return
		}
		a.record(st)
		stream, hold := a.stream, a.holdAcks
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		if !hold {
			_ = stream.Send(&executor.Event{Type: executor.Event_ACKNOWLEDGED,
				Acknowledged: &executor.Event_Acknowledged{TaskID: st.TaskID, UUID: st.UUID}})
		}
	case executor.Call_MESSAGE, executor.Call_HEARTBEAT:
		w.WriteHeader(http.StatusAccepted)
	default:
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "unsupported call %s", call.GetType()))
	}
}

// record keeps an update once per uuid (the caller holds mu).
func (a *Agent) record(st mesos.TaskStatus) {
	if a.seen[string(st.UUID)] {
		return
	}
	a.seen[string(st.UUID)] = true
	a.updates = append(a.updates, st)
	a.notify()
}

func (a *Agent) subscribe(w http.ResponseWriter, r *http.Request, req wire.Request, sub *executor.Call_Subscribe) {
	s := wire.OpenStream(w, req.ResponseCodec)
	caps := make([]mesos.FrameworkInfo_Capability, 0, len(a.Capabilities))
	for _, c := range a.Capabilities {
		caps = append(caps, mesos.FrameworkInfo_Capability{Type: c})
	}
	fid := mesos.FrameworkID{Value: a.FrameworkID}
	err := s.Send(&executor.Event{Type: executor.Event_SUBSCRIBED, Subscribed: &executor.Event_Subscribed{
		ExecutorInfo:  mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: a.ExecutorID}, Type: mesos.ExecutorInfo_CUSTOM},
		FrameworkInfo: mesos.FrameworkInfo{ID: &fid, User: "root", Name: "test", Capabilities: caps},
		AgentInfo:     mesos.AgentInfo{Hostname: "localhost"},
	}})
	if err != nil {
		return
	}
	a.mu.Lock()
	if a.stream != nil {
		a.stream.Close()
	}
	a.stream = s
	done := make(chan struct{})
	a.streamDone = done
	if !a.backAt.IsZero() {
		a.resubDelay = append(a.resubDelay, time.Since(a.backAt))
		a.backAt = time.Time{}
	}
	if sub != nil {
		a.subscribes = append(a.subscribes, *sub)
		for _, u := range sub.UnacknowledgedUpdates {
			a.record(u.Status)
			if !a.holdAcks {
				a.queue = append(a.queue, executor.Event{Type: executor.Event_ACKNOWLEDGED,
					Acknowledged: &executor.Event_Acknowledged{TaskID: u.Status.TaskID, UUID: u.Status.UUID}})
			}
		}
	}
	q := a.queue
	a.queue = nil
	a.notify()
	a.mu.Unlock()
	for i := range q {
		_ = s.Send(&q[i])
	}
	select {
	case <-r.Context().Done():
	case <-s.Done():
	}
	s.Close() // waits for a Send in flight: nothing writes after the handler returns
	a.mu.Lock()
	if a.stream == s {
		a.stream = nil
	}
	close(done)
	a.notify()
	a.mu.Unlock()
}

// send delivers an event now or queues it until the executor subscribes.
func (a *Agent) send(ev executor.Event) {
	a.mu.Lock()
	s := a.stream
	if s == nil {
		a.queue = append(a.queue, ev)
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	if err := s.Send(&ev); err != nil {
		a.mu.Lock()
		a.queue = append(a.queue, ev)
		a.mu.Unlock()
	}
}

// Launch sends LAUNCH.
func (a *Agent) Launch(ti mesos.TaskInfo) {
	a.send(executor.Event{Type: executor.Event_LAUNCH, Launch: &executor.Event_Launch{Task: ti}})
}

// Kill sends KILL, with a kill policy when grace >= 0.
func (a *Agent) Kill(taskID string, grace time.Duration) {
	k := &executor.Event_Kill{TaskID: mesos.TaskID{Value: taskID}}
	if grace >= 0 {
		k.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(grace)}}
	}
	a.send(executor.Event{Type: executor.Event_KILL, Kill: k})
}

// Shutdown sends SHUTDOWN.
func (a *Agent) Shutdown() { a.send(executor.Event{Type: executor.Event_SHUTDOWN}) }

// Heartbeat sends HEARTBEAT.
func (a *Agent) Heartbeat() { a.send(executor.Event{Type: executor.Event_HEARTBEAT}) }

// HoldAcks stops (or resumes) sending ACKNOWLEDGED.
func (a *Agent) HoldAcks(hold bool) { a.mu.Lock(); a.holdAcks = hold; a.mu.Unlock() }

// Updates returns every distinct update received so far.
func (a *Agent) Updates() []mesos.TaskStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]mesos.TaskStatus(nil), a.updates...)
}

// Subscribes returns the SUBSCRIBE bodies received so far.
func (a *Agent) Subscribes() []executor.Call_Subscribe {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]executor.Call_Subscribe(nil), a.subscribes...)
}

// Connected reports whether an executor stream is open.
func (a *Agent) Connected() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.stream != nil }

// WaitFor waits until cond holds over the received updates (checked on
// every change) or the timeout passes.
func (a *Agent) WaitFor(timeout time.Duration, cond func(a *Agent) bool) error {
	deadline := time.After(timeout)
	for {
		a.mu.Lock()
		ch := a.changed
		a.mu.Unlock()
		if cond(a) {
			return nil
		}
		select {
		case <-ch:
		case <-deadline:
			return errors.New("timed out waiting for the executor")
		}
	}
}

// WaitState waits for an update of the task in state st and returns it.
func (a *Agent) WaitState(taskID string, st mesos.TaskState, timeout time.Duration) (mesos.TaskStatus, error) {
	var got mesos.TaskStatus
	err := a.WaitFor(timeout, func(a *Agent) bool {
		for _, u := range a.Updates() {
			if u.TaskID.Value == taskID && u.GetState() == st {
				got = u
				return true
			}
		}
		return false
	})
	if err != nil {
		return got, fmt.Errorf("task %s never reached %s (updates: %v): %w", taskID, st, a.states(taskID), err)
	}
	return got, nil
}

// Terminal waits for the terminal update of a task.
func (a *Agent) Terminal(taskID string, timeout time.Duration) (mesos.TaskStatus, error) {
	var got mesos.TaskStatus
	err := a.WaitFor(timeout, func(a *Agent) bool {
		for _, u := range a.Updates() {
			switch u.GetState() {
			case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR, mesos.TASK_LOST:
				if u.TaskID.Value == taskID {
					got = u
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return got, fmt.Errorf("task %s: no terminal update (updates: %v): %w", taskID, a.states(taskID), err)
	}
	return got, nil
}

func (a *Agent) states(taskID string) []string {
	var s []string
	for _, u := range a.Updates() {
		if u.TaskID.Value == taskID {
			s = append(s, u.GetState().String())
		}
	}
	return s
}

// Restart simulates an agent restart: the executor's stream and the
// listener go away for down, then the agent listens on the same address.
func (a *Agent) Restart(down time.Duration) error {
	a.mu.Lock()
	srv, addr := a.srv, a.addr
	if a.stream != nil {
		a.stream.Close()
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = srv.Close()
	if a.BlackHoleWhileDown {
		hole, err := a.blackHole(addr)
		if err != nil {
			return err
		}
		time.Sleep(down)
		hole.Close() // its connections stay open, unanswered
	} else {
		time.Sleep(down)
	}
	var err error
	for i := 0; i < 50; i++ {
		if err = a.listen(addr); err == nil {
			a.mu.Lock()
			a.backAt = time.Now()
			a.mu.Unlock()
			a.watchResubscribe()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// blackHole accepts connections on addr and never answers them; Close
// stops accepting and leaves the accepted ones open (held by the agent).
func (a *Agent) blackHole(addr string) (net.Listener, error) {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.held = append(a.held, c)
			a.mu.Unlock()
		}
	}()
	return ln, nil
}

// watchResubscribe counts a missed window when no SUBSCRIBE arrives within
// ResubscribeWindow of the agent being back.
func (a *Agent) watchResubscribe() {
	if a.ResubscribeWindow <= 0 {
		return
	}
	a.mu.Lock()
	before := len(a.subscribes)
	a.mu.Unlock()
	time.AfterFunc(a.ResubscribeWindow, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.subscribes) == before {
			a.missed++
			a.notify()
		}
	})
}

// ResubscribeDelays are the times from each Restart's listening again to
// the executor's next SUBSCRIBE.
func (a *Agent) ResubscribeDelays() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Duration(nil), a.resubDelay...)
}

// MissedResubscribes is how many restarts the executor did not re-subscribe
// within ResubscribeWindow of.
func (a *Agent) MissedResubscribes() int { a.mu.Lock(); defer a.mu.Unlock(); return a.missed }

// Close stops the agent.
func (a *Agent) Close() {
	a.mu.Lock()
	srv := a.srv
	if a.stream != nil {
		a.stream.Close()
	}
	held := a.held
	a.held = nil
	a.mu.Unlock()
	_ = srv.Close()
	for _, c := range held {
		c.Close()
	}
}
