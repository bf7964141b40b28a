package agent

import (
	"net/http"
	"sync"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	agentpb "github.com/mesos/mesos-go/api/v1/lib/agent"
	"github.com/mesos/mesos-go/api/v1/lib/executor"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

func (a *Agent) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/executor", "/slave(1)/api/v1/executor":
			a.serveExecutor(w, r)
		case "/api/v1", "/slave(1)/api/v1":
			a.serveOperator(w, r)
		case "/health", "/slave(1)/health":
			w.WriteHeader(http.StatusOK)
		case "/version":
			wire.ServeVersion(MesosVersion)(w, r)
		case "/files/read", "/files/read.json":
			a.serveFilesRead(w, r)
		case "/files/browse", "/files/browse.json":
			a.serveFilesBrowse(w, r)
		case "/state", "/state.json", "/slave(1)/state", "/slave(1)/state.json":
			a.serveState(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// execConn is an executor's subscription: events queue here and the
// SUBSCRIBE handler writes them to the stream in order.
type execConn struct {
	mu     sync.Mutex
	q      []*executor.Event
	wake   chan struct{}
	done   chan struct{}
	closed bool
}

func newExecConn() *execConn {
	return &execConn{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (c *execConn) send(e *executor.Event) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.q = append(c.q, e)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *execConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
}

func (c *execConn) take() []*executor.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.q
	c.q = nil
	return q
}

func killEvent(id mesos.TaskID, policy *mesos.KillPolicy) *executor.Event {
	return &executor.Event{Type: executor.Event_KILL, Kill: &executor.Event_Kill{TaskID: id, KillPolicy: policy}}
}

func messageEvent(data []byte) *executor.Event {
	if data == nil {
		data = []byte{}
	}
	return &executor.Event{Type: executor.Event_MESSAGE, Message: &executor.Event_Message{Data: data}}
}

func shutdownEvent() *executor.Event { return &executor.Event{Type: executor.Event_SHUTDOWN} }

// deliverLocked hands a batch of tasks to a subscribed executor.
func (a *Agent) deliverLocked(ex *executorRun, b batch) {
	for _, t := range b.tasks {
		t.delivered = true
	}
	if b.group {
		tg := mesos.TaskGroupInfo{Tasks: make([]mesos.TaskInfo, len(b.tasks))}
		for i, t := range b.tasks {
			tg.Tasks[i] = t.info
		}
		ex.conn.send(&executor.Event{Type: executor.Event_LAUNCH_GROUP, LaunchGroup: &executor.Event_LaunchGroup{TaskGroup: tg}})
		return
	}
	for _, t := range b.tasks {
		ex.conn.send(&executor.Event{Type: executor.Event_LAUNCH, Launch: &executor.Event_Launch{Task: t.info}})
	}
}

// validateExecutorCall applies the agent's checks on the call itself.
func validateExecutorCall(c *executor.Call) error {
	if c.ExecutorID.Value == "" {
		return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'executor_id' to be present")
	}
	if c.FrameworkID.Value == "" {
		return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'framework_id' to be present")
	}
	switch c.Type {
	case executor.Call_SUBSCRIBE:
		if c.Subscribe == nil {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'subscribe' to be present")
		}
	case executor.Call_UPDATE:
		if c.Update == nil {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'update' to be present")
		}
		st := &c.Update.Status
		if st.ExecutorID != nil && st.ExecutorID.Value != c.ExecutorID.Value {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: ExecutorID in Call: %s does not match ExecutorID in TaskStatus: %s", c.ExecutorID.Value, st.ExecutorID.Value)
		}
		if st.GetSource() != mesos.SOURCE_EXECUTOR {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Received Call from executor %s of framework %s with invalid source, expecting 'SOURCE_EXECUTOR'", c.ExecutorID.Value, c.FrameworkID.Value)
		}
		if st.State == nil {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'state' to be present in TaskStatus")
		}
		if st.GetState() == mesos.TASK_STAGING {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Received TASK_STAGING from executor %s of framework %s which is not allowed", c.ExecutorID.Value, c.FrameworkID.Value)
		}
		if st.TaskID.Value == "" {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'task_id' to be present in TaskStatus")
		}
		if len(st.UUID) == 0 {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'uuid' to be present")
		}
		if !wire.ValidUUID(st.UUID) {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Invalid UUID in TaskStatus: not a 16-byte RFC 4122 UUID")
		}
	case executor.Call_MESSAGE:
		if c.Message == nil {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'message' to be present")
		}
	case executor.Call_HEARTBEAT:
	default:
		return wire.Errorf(http.StatusBadRequest, "Failed to validate Executor::Call: Expecting 'type' to be present")
	}
	return nil
}

func (a *Agent) serveExecutor(w http.ResponseWriter, r *http.Request) {
	var call executor.Call
	req, err := wire.ReadCall(r, &call)
	if err == nil {
		err = validateExecutorCall(&call)
	}
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	if call.Type == executor.Call_HEARTBEAT {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if call.Type == executor.Call_SUBSCRIBE {
		a.subscribe(w, r, req, &call)
		return
	}
	a.mu.Lock()
	ex, err := a.lookupExecutorLocked(&call)
	if err == nil && ex.conn == nil {
		err = wire.Errorf(http.StatusForbidden, "Executor is not subscribed")
	}
	if err != nil {
		a.mu.Unlock()
		wire.WriteError(w, err)
		return
	}
	switch call.Type {
	case executor.Call_UPDATE:
		st := call.Update.Status
		a.executorUpdateLocked(ex, st)
		ex.conn.send(&executor.Event{Type: executor.Event_ACKNOWLEDGED, Acknowledged: &executor.Event_Acknowledged{TaskID: st.TaskID, UUID: st.UUID}})
	case executor.Call_MESSAGE:
		agentID, fwID, execID, data := a.id, *ex.fw.info.ID, ex.info.ExecutorID, call.Message.Data
		a.out.push(func() { a.cfg.Master.ExecutorMessage(agentID, fwID, execID, data) })
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (a *Agent) lookupExecutorLocked(call *executor.Call) (*executorRun, error) {
	fw := a.frameworks[call.FrameworkID.Value]
	if fw == nil {
		return nil, wire.Errorf(http.StatusBadRequest, "Framework cannot be found")
	}
	ex := fw.executors[call.ExecutorID.Value]
	if ex == nil || ex.kind == kindSim || ex.exited {
		return nil, wire.Errorf(http.StatusBadRequest, "Executor cannot be found")
	}
	return ex, nil
}

// executorUpdateLocked takes an executor's UPDATE (or a replayed one),
// ignoring duplicates of updates the agent already has.
func (a *Agent) executorUpdateLocked(ex *executorRun, st mesos.TaskStatus) {
	fw := ex.fw
	t := fw.tasks[st.TaskID.Value]
	if t == nil {
		for _, c := range a.completed {
			if c.ex.fw == fw && c.info.TaskID.Value == st.TaskID.Value {
				return // already terminal and acknowledged: a late duplicate
			}
		}
		// An update for a task the agent never launched: track it anyway,
		// as the Mesos status update manager does.
		t = &task{info: mesos.TaskInfo{Name: st.TaskID.Value, TaskID: st.TaskID}, ex: ex, state: mesos.TASK_STAGING, delivered: true}
		fw.tasks[st.TaskID.Value] = t
		ex.tasks[st.TaskID.Value] = t
	}
	if _, dup := t.received[string(st.UUID)]; dup {
		return
	}
	if link.IsTerminal(t.state) {
		// As in Mesos' status update stream, nothing follows a terminal
		// update (e.g. the agent already failed the task).
		a.log.Info("update after a terminal one ignored", "task_id", st.TaskID.Value, "state", st.GetState())
		return
	}
	a.statusLocked(t, st)
}

func (a *Agent) subscribe(w http.ResponseWriter, r *http.Request, req wire.Request, call *executor.Call) {
	if !req.AcceptOK() {
		wire.WriteError(w, wire.Errorf(http.StatusNotAcceptable, "%s", wire.NotAcceptableMessage))
		return
	}
	a.mu.Lock()
	ex, err := a.lookupExecutorLocked(call)
	if err == nil && ex.state == execTerminating && !ex.subscribed {
		err = wire.Errorf(http.StatusBadRequest, "Executor is terminating")
	}
	if err != nil {
		a.mu.Unlock()
		wire.WriteError(w, err)
		return
	}
	if ex.conn != nil {
		ex.conn.close()
	}
	c := newExecConn()
	ex.conn = c
	resubscribe := ex.subscribed
	ex.subscribed = true
	ex.awaitingResubscribe = false
	if ex.state == execRegistering {
		ex.state = execRunning
	}

	// Replay what the executor has not seen acknowledged.
	for _, u := range call.Subscribe.UnacknowledgedUpdates {
		st := u.Status
		if validUpdateForReplay(&st, call) {
			a.executorUpdateLocked(ex, st)
		}
	}
	if resubscribe {
		listed := map[string]bool{}
		for _, ti := range call.Subscribe.UnacknowledgedTasks {
			listed[ti.TaskID.Value] = true
		}
		for _, u := range call.Subscribe.UnacknowledgedUpdates {
			listed[u.Status.TaskID.Value] = true
		}
		for _, t := range sortedTasks(ex.tasks) {
			if t.delivered && t.state == mesos.TASK_STAGING && !listed[t.info.TaskID.Value] {
				a.agentStatusLocked(t, lostOrDropped(ex.fw), mesos.REASON_AGENT_RESTARTED, "Task was not received by the executor")
			}
		}
	}

	info := a.agentInfoLocked()
	c.send(&executor.Event{Type: executor.Event_SUBSCRIBED, Subscribed: &executor.Event_Subscribed{
		ExecutorInfo:  ex.info,
		FrameworkInfo: ex.fw.info,
		AgentInfo:     info,
		ContainerID:   &ex.containerID,
	}})
	queued := ex.queued
	ex.queued = nil
	for _, b := range queued {
		a.deliverLocked(ex, b)
	}
	for _, k := range ex.pendingKills {
		c.send(killEvent(k.taskID, k.policy))
	}
	ex.pendingKills = nil
	if ex.state == execTerminating {
		c.send(shutdownEvent())
	}
	a.mu.Unlock()

	stream := wire.OpenStream(w, req.ResponseCodec)
	defer stream.Close()
	for {
		for _, e := range c.take() {
			if err := stream.Send(e); err != nil {
				a.detach(ex, c)
				return
			}
		}
		select {
		case <-c.wake:
		case <-c.done:
			return
		case <-r.Context().Done():
			a.detach(ex, c)
			return
		}
	}
}

func validUpdateForReplay(st *mesos.TaskStatus, call *executor.Call) bool {
	return wire.ValidUUID(st.UUID) && st.GetState() != mesos.TASK_STAGING && st.TaskID.Value != "" &&
		(st.ExecutorID == nil || st.ExecutorID.Value == call.ExecutorID.Value)
}

// detach forgets a subscription whose connection broke.
func (a *Agent) detach(ex *executorRun, c *execConn) {
	c.close()
	a.mu.Lock()
	defer a.mu.Unlock()
	if ex.conn == c {
		ex.conn = nil
	}
}

// ---- operator API (POST /api/v1 on the agent) ----

func (a *Agent) serveOperator(w http.ResponseWriter, r *http.Request) {
	var call agentpb.Call
	req, err := wire.ReadCall(r, &call)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	if !req.AcceptOK() {
		wire.WriteError(w, wire.Errorf(http.StatusNotAcceptable, "%s", wire.NotAcceptableMessage))
		return
	}
	var resp agentpb.Response
	a.mu.Lock()
	switch call.Type {
	case agentpb.Call_GET_HEALTH:
		resp.Type = agentpb.Response_GET_HEALTH
		resp.GetHealth = &agentpb.Response_GetHealth{Healthy: true}
	case agentpb.Call_GET_VERSION:
		resp.Type = agentpb.Response_GET_VERSION
		resp.GetVersion = &agentpb.Response_GetVersion{VersionInfo: mesos.VersionInfo{Version: MesosVersion}}
	case agentpb.Call_GET_STATE:
		resp.Type = agentpb.Response_GET_STATE
		resp.GetState = &agentpb.Response_GetState{GetTasks: a.getTasksLocked(), GetExecutors: a.getExecutorsLocked(), GetFrameworks: a.getFrameworksLocked()}
	case agentpb.Call_GET_TASKS:
		resp.Type = agentpb.Response_GET_TASKS
		resp.GetTasks = a.getTasksLocked()
	case agentpb.Call_GET_EXECUTORS:
		resp.Type = agentpb.Response_GET_EXECUTORS
		resp.GetExecutors = a.getExecutorsLocked()
	case agentpb.Call_GET_FRAMEWORKS:
		resp.Type = agentpb.Response_GET_FRAMEWORKS
		resp.GetFrameworks = a.getFrameworksLocked()
	case agentpb.Call_GET_AGENT:
		resp.Type = agentpb.Response_GET_AGENT
		info := a.agentInfoLocked()
		resp.GetAgent = &agentpb.Response_GetAgent{AgentInfo: &info}
	case agentpb.Call_UNKNOWN:
		err = wire.Errorf(http.StatusBadRequest, "Failed to validate agent::Call: Expecting 'type' to be present")
	default:
		err = wire.Errorf(http.StatusNotImplemented, "%s is not supported by the local agent", call.Type)
	}
	a.mu.Unlock()
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteMessage(w, req.ResponseCodec, &resp)
}

// MesosVersion is the Mesos version the local agent reports.
const MesosVersion = "1.12.0"

func (a *Agent) getTasksLocked() *agentpb.Response_GetTasks {
	out := &agentpb.Response_GetTasks{}
	for _, fw := range a.frameworks {
		for _, t := range sortedTasks(fw.tasks) {
			switch {
			case link.IsTerminal(t.state):
				out.CompletedTasks = append(out.CompletedTasks, t.toTask(a.id))
			case !t.delivered && t.ex.state == execRegistering:
				out.QueuedTasks = append(out.QueuedTasks, t.toTask(a.id))
			default:
				out.LaunchedTasks = append(out.LaunchedTasks, t.toTask(a.id))
			}
		}
	}
	for _, t := range a.completed {
		out.CompletedTasks = append(out.CompletedTasks, t.toTask(a.id))
	}
	return out
}

func (a *Agent) getExecutorsLocked() *agentpb.Response_GetExecutors {
	out := &agentpb.Response_GetExecutors{}
	for _, fw := range a.frameworks {
		for _, ex := range fw.executors {
			out.Executors = append(out.Executors, agentpb.Response_GetExecutors_Executor{ExecutorInfo: ex.info})
		}
	}
	for _, ei := range a.doneExecs {
		out.CompletedExecutors = append(out.CompletedExecutors, agentpb.Response_GetExecutors_Executor{ExecutorInfo: ei})
	}
	return out
}

func (a *Agent) getFrameworksLocked() *agentpb.Response_GetFrameworks {
	out := &agentpb.Response_GetFrameworks{}
	for _, fw := range a.frameworks {
		f := agentpb.Response_GetFrameworks_Framework{FrameworkInfo: fw.info}
		if fw.removed {
			out.CompletedFrameworks = append(out.CompletedFrameworks, f)
		} else {
			out.Frameworks = append(out.Frameworks, f)
		}
	}
	return out
}
