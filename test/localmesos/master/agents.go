package master

import (
	"fmt"
	"net"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
)

// RegisterAgent adds an agent, or re-adds one that restarted or that
// registered with a previous master, keeping its ID and adopting its tasks.
func (m *Master) RegisterAgent(l link.Agent, info mesos.AgentInfo, tasks []mesos.Task, executors []link.ExecutorRef) (mesos.AgentID, error) {
	total, err := normalizeAll(info.Resources)
	if err != nil {
		return mesos.AgentID{}, fmt.Errorf("register agent %s: %w", info.Hostname, err)
	}
	total = withDefaultPorts(total)
	ip := ""
	if ad, ok := l.(link.Addressed); ok {
		if host, _, err := net.SplitHostPort(ad.Endpoint()); err == nil {
			ip = host
		}
	}
	m.mu.Lock()
	defer m.unlock()
	if m.closed {
		return mesos.AgentID{}, fmt.Errorf("register agent %s: master is closed", info.Hostname)
	}
	now := time.Now()
	var a *agent
	if info.ID != nil && info.ID.Value != "" {
		a = m.agents[info.ID.Value]
	}
	if a == nil {
		id := ""
		if info.ID != nil && info.ID.Value != "" {
			id = info.ID.Value
		} else {
			id = m.nextAgentID()
		}
		a = &agent{id: id, offers: map[string]*offer{}, tasks: map[taskKey]*task{}, executors: map[execKey]*executor{}, registered: now}
		m.agents[id] = a
		m.agentOrder = append(m.agentOrder, a)
	} else {
		a.reregisterd = now
		for _, o := range a.offers {
			m.rescind(o)
		}
		// Re-registration after a restart: the agent's report is the truth.
		reported := map[taskKey]bool{}
		for _, t := range tasks {
			reported[taskKey{t.FrameworkID.Value, t.TaskID.Value}] = true
		}
		for k, t := range a.tasks {
			if reported[k] || link.IsTerminal(t.info.GetState()) {
				continue
			}
			fw := m.frameworks[k.framework]
			delete(a.tasks, k)
			if fw == nil {
				continue
			}
			t.info.State = fw.lostState(mesos.TASK_GONE).Enum()
			aid := mesos.AgentID{Value: a.id}
			fw.send(updateEvent(masterStatus(t.info.TaskID, t.info.GetState(), mesos.REASON_AGENT_RESTARTED, "Task was not reported by the re-registering agent", &aid)))
			t.agent = nil
			m.completeTask(fw, t)
		}
	}
	if a.total != nil {
		// A known agent keeps the reservations made through this master
		// (a Mesos agent checkpoints them); its flags cannot change anyway.
		total = a.total
	}
	a.info = info
	a.info.ID = &mesos.AgentID{Value: a.id}
	if a.link != nil && a.link != l {
		// Re-registered through a new link: the old one's mailbox
		// goes once it has delivered what it holds (its drain keeps
		// it until then); nothing is posted to it any more.
		delete(m.mailboxes, a.link)
	}
	a.link = l
	a.ip = ip
	a.total = total
	a.gone, a.markedGone = false, false
	a.info.Resources = forFramework(total, "", false, true)
	// Rebuild what is in use from the reported executors and tasks.
	for k, e := range a.executors {
		delete(a.executors, k)
		if fw := m.frameworks[e.fw]; fw != nil {
			delete(fw.executors, k)
		}
	}
	for _, ref := range executors {
		fw := m.recoverFramework(ref.FrameworkID.Value)
		rs, _ := normalizeAll(ref.Info.Resources)
		info := *proto.Clone(&ref.Info).(*mesos.ExecutorInfo)
		info.FrameworkID = &mesos.FrameworkID{Value: fw.id}
		m.addExecutor(fw, a, roleOf(ref.Info.Resources, fw), info, rs)
	}
	for _, t := range tasks {
		fw := m.recoverFramework(t.FrameworkID.Value)
		rs, _ := normalizeAll(t.Resources)
		k := taskKey{fw.id, t.TaskID.Value}
		old := a.tasks[k]
		if old == nil {
			old = fw.tasks[t.TaskID.Value]
		}
		nt := &task{fw: fw.id, agent: a, role: roleOf(t.Resources, fw), info: t, resources: rs}
		nt.info.AgentID = mesos.AgentID{Value: a.id}
		if old != nil {
			nt.lastUUID, nt.lastState = old.lastUUID, old.lastState
		}
		if link.IsTerminal(t.GetState()) {
			nt.released = true
		}
		fw.tasks[t.TaskID.Value] = nt
		a.tasks[k] = nt
	}
	a.available = total.Clone()
	for _, e := range a.executors {
		a.available.Subtract(e.resources...)
	}
	for _, t := range a.tasks {
		if !t.released {
			a.available.Subtract(t.resources...)
		}
	}
	m.wakeAllocator()
	return mesos.AgentID{Value: a.id}, nil
}

// roleOf finds the role resources were allocated to.
func roleOf(rs []mesos.Resource, fw *framework) string {
	for _, r := range rs {
		if r.AllocationInfo != nil {
			return r.AllocationInfo.GetRole()
		}
	}
	if len(fw.roles) > 0 {
		return fw.roles[0]
	}
	return "*"
}

// recoverFramework returns a framework, creating a placeholder for one this
// master has not seen (it re-subscribes later with its old ID).
func (m *Master) recoverFramework(id string) *framework {
	if fw := m.frameworks[id]; fw != nil {
		return fw
	}
	fw := newFramework(id, m.cfg.MaxCompletedTasksPerFramework)
	fw.recovered = true
	fw.info = mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: id}}
	fw.roles = []string{"*"}
	m.frameworks[id] = fw
	m.fwOrder = append(m.fwOrder, fw)
	return fw
}

// AgentGone removes an agent that died: offers are rescinded, its tasks
// become TASK_LOST or TASK_UNREACHABLE (REASON_AGENT_REMOVED, no uuid), and
// every framework gets FAILURE{agent_id}.
func (m *Master) AgentGone(agentID mesos.AgentID) {
	m.mu.Lock()
	defer m.unlock()
	if a := m.agents[agentID.Value]; a != nil && !a.gone {
		m.removeAgent(a, mesos.TASK_UNREACHABLE, mesos.REASON_AGENT_REMOVED, "Agent is unreachable")
	}
}

func (m *Master) removeAgent(a *agent, aware mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) {
	for _, o := range a.offers {
		m.rescind(o)
	}
	a.gone = true
	a.unreachable = time.Now()
	aid := mesos.AgentID{Value: a.id}
	for _, t := range a.tasks {
		fw := m.frameworks[t.fw]
		if fw == nil || link.IsTerminal(t.info.GetState()) {
			continue
		}
		t.released = true
		state := fw.lostState(aware)
		st := masterStatus(t.info.TaskID, state, reason, msg, &aid)
		st.ExecutorID = t.info.ExecutorID
		st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: a.unreachable.UnixNano()}
		t.info.State = state.Enum()
		t.info.Statuses = appendStatus(t.info.Statuses, st)
		if link.IsTerminal(state) {
			m.completeTask(fw, t)
		}
		fw.send(updateEvent(st))
	}
	for _, fw := range m.frameworks {
		fw.send(&scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{AgentID: &aid}})
	}
	a.available = nil
}

// maxStatuses bounds the status history kept per task.
const maxStatuses = 8

func appendStatus(ss []mesos.TaskStatus, st mesos.TaskStatus) []mesos.TaskStatus {
	st.UUID = nil
	st.Data = nil
	if len(ss) >= maxStatuses {
		copy(ss, ss[1:])
		ss = ss[:len(ss)-1]
	}
	return append(ss, st)
}

// StatusUpdate forwards a reliable update to the framework and records the
// task's state; a terminal latest state frees the task's resources.
func (m *Master) StatusUpdate(agentID mesos.AgentID, frameworkID mesos.FrameworkID, status mesos.TaskStatus, latest mesos.TaskState) {
	m.mu.Lock()
	defer m.unlock()
	a := m.agents[agentID.Value]
	fw := m.frameworks[frameworkID.Value]
	if a == nil || fw == nil {
		m.stats.invalidUpdates++
		return
	}
	m.stats.statusUpdates++
	status.AgentID = &mesos.AgentID{Value: a.id}
	if status.Timestamp == nil {
		ts := nowSeconds()
		status.Timestamp = &ts
	}
	if t := a.tasks[taskKey{fw.id, status.TaskID.Value}]; t != nil {
		if status.ExecutorID == nil {
			status.ExecutorID = t.info.ExecutorID
		}
		t.info.State = latest.Enum()
		t.info.StatusUpdateState = status.State
		t.info.StatusUpdateUUID = status.UUID
		t.info.Statuses = appendStatus(t.info.Statuses, status)
		if len(status.UUID) > 0 {
			t.lastUUID, t.lastState = status.UUID, status.GetState()
		}
		if link.IsTerminal(latest) && !t.released {
			m.releaseTask(t)
			m.wakeAllocator()
		}
	}
	fw.send(updateEvent(status))
}

// ExecutorMessage forwards an executor's message to its framework.
func (m *Master) ExecutorMessage(agentID mesos.AgentID, frameworkID mesos.FrameworkID, executorID mesos.ExecutorID, data []byte) {
	m.mu.Lock()
	defer m.unlock()
	if fw := m.frameworks[frameworkID.Value]; fw != nil {
		if data == nil {
			data = []byte{}
		}
		fw.send(&scheduler.Event{Type: scheduler.Event_MESSAGE, Message: &scheduler.Event_Message{AgentID: agentID, ExecutorID: executorID, Data: data}})
	}
}

// ExecutorTerminated frees an executor's resources; for a custom executor
// the framework gets FAILURE{agent_id, executor_id, status}.
func (m *Master) ExecutorTerminated(agentID mesos.AgentID, frameworkID mesos.FrameworkID, executorID mesos.ExecutorID, custom bool, waitStatus int32) {
	m.mu.Lock()
	defer m.unlock()
	a := m.agents[agentID.Value]
	if a == nil {
		return
	}
	if e := a.executors[execKey{frameworkID.Value, executorID.Value}]; e != nil {
		m.releaseExecutor(e)
		m.wakeAllocator()
	}
	if fw := m.frameworks[frameworkID.Value]; fw != nil && custom {
		aid, eid, ws := agentID, executorID, waitStatus
		fw.send(&scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{AgentID: &aid, ExecutorID: &eid, Status: &ws}})
	}
}

var _ link.TaskStateNotifier = (*Master)(nil)

// TaskTerminated frees a task's resources as soon as the agent knows it is
// terminal, while its earlier updates still wait for acknowledgement. The
// terminal update itself arrives later through StatusUpdate.
func (m *Master) TaskTerminated(agentID mesos.AgentID, frameworkID mesos.FrameworkID, taskID mesos.TaskID, state mesos.TaskState) {
	m.mu.Lock()
	defer m.unlock()
	a := m.agents[agentID.Value]
	if a == nil || !link.IsTerminal(state) {
		return
	}
	if t := a.tasks[taskKey{frameworkID.Value, taskID.Value}]; t != nil && !t.released {
		t.info.State = state.Enum()
		m.releaseTask(t)
		m.wakeAllocator()
	}
}
