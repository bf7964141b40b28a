package link

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Master is what an agent needs from the master it registers with.
type Master interface {
	// RegisterAgent adds an agent, or re-adds one that restarted (info.ID set),
	// keeping its ID. tasks are the non-terminal tasks the agent still runs
	// (after a restart); executors likewise. It returns the agent's ID.
	RegisterAgent(a Agent, info mesos.AgentInfo, tasks []mesos.Task, executors []ExecutorRef) (mesos.AgentID, error)
	// AgentGone tells the master the agent process died (the kill used by
	// failure tests); the master treats the agent as unreachable/removed.
	AgentGone(agentID mesos.AgentID)
	// StatusUpdate forwards a reliable status update (with uuid) from the agent
	// or an executor to the framework. latest is the task's newest state known
	// to the agent (it may be ahead of status while updates queue), so the
	// master can release resources promptly.
	StatusUpdate(agentID mesos.AgentID, frameworkID mesos.FrameworkID, status mesos.TaskStatus, latest mesos.TaskState)
	// ExecutorMessage forwards an executor's MESSAGE call (best effort).
	ExecutorMessage(agentID mesos.AgentID, frameworkID mesos.FrameworkID, executorID mesos.ExecutorID, data []byte)
	// ExecutorTerminated reports that an executor process ended; for custom
	// executors the master sends FAILURE{agent_id, executor_id, status}.
	// waitStatus is the raw waitpid status.
	ExecutorTerminated(agentID mesos.AgentID, frameworkID mesos.FrameworkID, executorID mesos.ExecutorID, custom bool, waitStatus int32)
}

// ExecutorRef identifies an executor running on an agent.
type ExecutorRef struct {
	FrameworkID mesos.FrameworkID
	Info        mesos.ExecutorInfo
}

// Agent is what the master needs from an agent.
type Agent interface {
	// Launch starts tasks on the agent: with executor nil each task runs under
	// the command executor; otherwise under that (custom or default) executor,
	// starting it if it is not running. group means LAUNCH_GROUP.
	Launch(framework mesos.FrameworkInfo, executor *mesos.ExecutorInfo, tasks []mesos.TaskInfo, group bool)
	// Kill asks the executor of a task to kill it (or answers
	// TASK_KILLED/REASON_TASK_KILLED_DURING_LAUNCH if not yet delivered).
	Kill(frameworkID mesos.FrameworkID, taskID mesos.TaskID, policy *mesos.KillPolicy)
	// ShutdownExecutor sends SHUTDOWN to one executor.
	ShutdownExecutor(frameworkID mesos.FrameworkID, executorID mesos.ExecutorID)
	// ShutdownFramework shuts down every executor of the framework (teardown
	// or failover timeout).
	ShutdownFramework(frameworkID mesos.FrameworkID)
	// FrameworkMessage delivers a scheduler MESSAGE to an executor.
	FrameworkMessage(frameworkID mesos.FrameworkID, executorID mesos.ExecutorID, data []byte)
	// Acknowledge passes the scheduler's ACKNOWLEDGE of a status update; the
	// agent drops that update and sends the next queued one for the task.
	Acknowledge(frameworkID mesos.FrameworkID, taskID mesos.TaskID, uuid []byte)
	// UpdateFramework refreshes the FrameworkInfo the agent hands executors
	// (after a re-subscribe).
	UpdateFramework(framework mesos.FrameworkInfo)
}

// TaskStateNotifier is optionally implemented by a Master. When a task
// reaches a terminal state while an earlier update of it still waits for the
// framework's acknowledgement, the agent calls TaskTerminated so the master
// can free the task's resources at once. It is not a status update: nothing
// is sent to the framework, and the terminal update itself still follows
// through StatusUpdate once the earlier ones are acknowledged. Without it the
// master learns the state from the `latest` argument of the next
// StatusUpdate (a retry or the next queued update), as with a real agent.
type TaskStateNotifier interface {
	TaskTerminated(agentID mesos.AgentID, frameworkID mesos.FrameworkID, taskID mesos.TaskID, state mesos.TaskState)
}

// Addressed is optionally implemented by an Agent: Endpoint returns the
// "ip:port" it serves on. A real master learns the agent's IP from the
// agent's libprocess connection; the local master learns it from here and
// puts it in offers' url and in the agent's pid, so frameworks can reach the
// agent's HTTP endpoints (/files/read, /state) even when its hostname does not
// resolve.
type Addressed interface {
	Endpoint() string
}

// IsTerminal reports whether a task in state s has ended for good: an agent
// stops it and the master releases its resources.
func IsTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR,
		mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}
