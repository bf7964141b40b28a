package fakeagent

import (
	"strings"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// Outcome says how a launched task ends; ok false means it runs until killed.
type Outcome func(mesos.TaskInfo) (final mesos.TaskState, ok bool)

// ByCommand ends a task by its command: "exit 0" or "true" → FINISHED,
// "exit N" or "false" → FAILED; anything else runs until killed.
func ByCommand(t mesos.TaskInfo) (mesos.TaskState, bool) {
	v := strings.TrimSpace(t.GetCommand().GetValue())
	switch {
	case v == "true" || v == "exit 0":
		return mesos.TASK_FINISHED, true
	case v == "false" || strings.HasPrefix(v, "exit "):
		return mesos.TASK_FAILED, true
	}
	return 0, false
}

// Agent is a fake agent registered with a link.Master.
type Agent struct {
	master  link.Master
	outcome Outcome
	info    mesos.AgentInfo

	mu    sync.Mutex
	id    mesos.AgentID
	tasks map[key]*ftask
	execs map[key]link.ExecutorRef
	log   []string      // calls received, for tests
	gate  chan struct{} // while set (Hold), Launch and Kill wait for it to close
}

type key struct{ fw, id string }

type ftask struct {
	fw      mesos.FrameworkID
	info    mesos.TaskInfo
	exec    *mesos.ExecutorID
	state   mesos.TaskState // latest
	pending []mesos.TaskStatus
}

var _ link.Agent = (*Agent)(nil)

// New returns an unregistered fake agent; outcome nil means ByCommand.
func New(m link.Master, info mesos.AgentInfo, outcome Outcome) *Agent {
	if outcome == nil {
		outcome = ByCommand
	}
	return &Agent{master: m, info: info, outcome: outcome, tasks: map[key]*ftask{}, execs: map[key]link.ExecutorRef{}}
}

// Register (re-)registers with the master, reporting live tasks.
func (a *Agent) Register() (mesos.AgentID, error) {
	a.mu.Lock()
	info := a.info
	if a.id.Value != "" {
		id := a.id
		info.ID = &id
	}
	var tasks []mesos.Task
	for _, t := range a.tasks {
		st := t.state
		tasks = append(tasks, mesos.Task{Name: t.info.Name, TaskID: t.info.TaskID, FrameworkID: t.fw, ExecutorID: t.exec,
			AgentID: a.id, State: &st, Resources: t.info.Resources})
	}
	var execs []link.ExecutorRef
	for _, e := range a.execs {
		execs = append(execs, e)
	}
	a.mu.Unlock()
	id, err := a.master.RegisterAgent(a, info, tasks, execs)
	if err != nil {
		return id, err
	}
	a.mu.Lock()
	a.id = id
	a.mu.Unlock()
	return id, nil
}

// ID returns the agent ID after Register.
func (a *Agent) ID() mesos.AgentID {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// SetMaster points the agent at another master (for master failover).
func (a *Agent) SetMaster(m link.Master) {
	a.mu.Lock()
	a.master = m
	a.mu.Unlock()
}

// Calls returns the names of the link.Agent calls received so far.
func (a *Agent) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.log...)
}

// Running returns the IDs of non-terminal tasks.
func (a *Agent) Running() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []string
	for k, t := range a.tasks {
		if !link.IsTerminal(t.state) {
			ids = append(ids, k.id)
		}
	}
	return ids
}

// Unacknowledged counts the status updates not yet acknowledged.
func (a *Agent) Unacknowledged() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, t := range a.tasks {
		n += len(t.pending)
	}
	return n
}

// queue appends an update for t; the first pending one is sent to the
// master (by the returned func, to be run without a.mu).
func (a *Agent) queue(t *ftask, state mesos.TaskState, reason *mesos.TaskStatus_Reason, msg string) func() {
	ts := float64(time.Now().UnixNano()) / 1e9
	st := mesos.TaskStatus{TaskID: t.info.TaskID, State: state.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(),
		UUID: wire.NewUUID(), ExecutorID: t.exec, Timestamp: &ts, Reason: reason}
	if msg != "" {
		st.Message = &msg
	}
	if reason != nil {
		st.Source = mesos.SOURCE_AGENT.Enum()
	}
	t.state = state
	t.pending = append(t.pending, st)
	if len(t.pending) == 1 {
		return a.forward(t)
	}
	// Earlier updates still wait for acknowledgement: tell the master of a
	// terminal state at once so it frees the resources.
	if n, ok := a.master.(link.TaskStateNotifier); ok && link.IsTerminal(state) {
		m, id, fw, tid := n, a.id, t.fw, t.info.TaskID
		return func() { m.TaskTerminated(id, fw, tid, state) }
	}
	return func() {}
}

func (a *Agent) forward(t *ftask) func() {
	st, latest, m, id, fw := t.pending[0], t.state, a.master, a.id, t.fw
	return func() { m.StatusUpdate(id, fw, st, latest) }
}

// Hold makes Launch and Kill wait until release is called, as an agent slow
// to take the master's messages would: the master must not wait with it.
func (a *Agent) Hold() (release func()) {
	gate := make(chan struct{})
	a.mu.Lock()
	a.gate = gate
	a.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.gate = nil
			a.mu.Unlock()
			close(gate)
		})
	}
}

// waitHeld waits while the agent is held (Hold).
func (a *Agent) waitHeld() {
	a.mu.Lock()
	gate := a.gate
	a.mu.Unlock()
	if gate != nil {
		<-gate
	}
}

// Launch starts tasks: RUNNING at once, then the outcome.
func (a *Agent) Launch(fw mesos.FrameworkInfo, e *mesos.ExecutorInfo, tasks []mesos.TaskInfo, group bool) {
	a.waitHeld()
	var sends []func()
	a.mu.Lock()
	a.log = append(a.log, "launch")
	if e != nil {
		a.execs[key{fw.GetID().GetValue(), e.ExecutorID.Value}] = link.ExecutorRef{FrameworkID: *fw.ID, Info: *e}
	}
	for _, ti := range tasks {
		t := &ftask{fw: *fw.ID, info: ti}
		if e != nil {
			id := e.ExecutorID
			t.exec = &id
		} else {
			id := mesos.ExecutorID{Value: ti.TaskID.Value}
			t.exec = &id
		}
		a.tasks[key{fw.ID.Value, ti.TaskID.Value}] = t
		sends = append(sends, a.queue(t, mesos.TASK_RUNNING, nil, ""))
		if final, ok := a.outcome(ti); ok {
			sends = append(sends, a.queue(t, final, nil, ""))
		}
	}
	a.mu.Unlock()
	for _, f := range sends {
		f()
	}
}

// Kill ends a task with TASK_KILLED.
func (a *Agent) Kill(fw mesos.FrameworkID, id mesos.TaskID, _ *mesos.KillPolicy) {
	a.waitHeld()
	a.mu.Lock()
	a.log = append(a.log, "kill:"+id.Value)
	var send func()
	if t := a.tasks[key{fw.Value, id.Value}]; t != nil && !link.IsTerminal(t.state) {
		send = a.queue(t, mesos.TASK_KILLED, nil, "")
	}
	a.mu.Unlock()
	if send != nil {
		send()
	}
}

func (a *Agent) killAll(fw mesos.FrameworkID, exec string) {
	var sends []func()
	a.mu.Lock()
	reason := mesos.REASON_EXECUTOR_TERMINATED
	for k, t := range a.tasks {
		if k.fw == fw.Value && (exec == "" || t.exec.GetValue() == exec) && !link.IsTerminal(t.state) {
			sends = append(sends, a.queue(t, mesos.TASK_KILLED, &reason, "Executor shut down"))
		}
	}
	a.mu.Unlock()
	for _, f := range sends {
		f()
	}
}

// ShutdownExecutor kills the executor's tasks.
func (a *Agent) ShutdownExecutor(fw mesos.FrameworkID, e mesos.ExecutorID) {
	a.mu.Lock()
	a.log = append(a.log, "shutdown-executor:"+e.Value)
	delete(a.execs, key{fw.Value, e.Value})
	a.mu.Unlock()
	a.killAll(fw, e.Value)
}

// ShutdownFramework kills every task of the framework.
func (a *Agent) ShutdownFramework(fw mesos.FrameworkID) {
	a.mu.Lock()
	a.log = append(a.log, "shutdown-framework:"+fw.Value)
	for k := range a.execs {
		if k.fw == fw.Value {
			delete(a.execs, k)
		}
	}
	a.mu.Unlock()
	a.killAll(fw, "")
}

// FrameworkMessage echoes the data back as an executor message.
func (a *Agent) FrameworkMessage(fw mesos.FrameworkID, e mesos.ExecutorID, data []byte) {
	a.mu.Lock()
	a.log = append(a.log, "message:"+string(data))
	m, id := a.master, a.id
	a.mu.Unlock()
	m.ExecutorMessage(id, fw, e, data)
}

// Acknowledge drops the acknowledged update and sends the next one.
func (a *Agent) Acknowledge(fw mesos.FrameworkID, id mesos.TaskID, uuid []byte) {
	var send func()
	a.mu.Lock()
	k := key{fw.Value, id.Value}
	if t := a.tasks[k]; t != nil && len(t.pending) > 0 && string(t.pending[0].UUID) == string(uuid) {
		t.pending = t.pending[1:]
		if len(t.pending) > 0 {
			send = a.forward(t)
		} else if link.IsTerminal(t.state) {
			delete(a.tasks, k)
		}
	}
	a.mu.Unlock()
	if send != nil {
		send()
	}
}

// UpdateFramework is a no-op: the fake agent keeps no FrameworkInfo.
func (a *Agent) UpdateFramework(mesos.FrameworkInfo) {}
