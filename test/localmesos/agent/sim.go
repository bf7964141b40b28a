package agent

import (
	"strconv"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
)

// Labels that script a simulated task (Config.Simulated).
const (
	// SimDurationLabel: how long the task runs, as a Go duration ("250ms");
	// default 0 (it ends right after TASK_RUNNING).
	SimDurationLabel = "localmesos.sim/duration"
	// SimExitCodeLabel: the task's exit code; 0 (default) ends it
	// TASK_FINISHED, anything else TASK_FAILED.
	SimExitCodeLabel = "localmesos.sim/exit-code"
)

// simScript reads a task's simulation labels.
func simScript(labels *mesos.Labels) (d time.Duration, code int, err error) {
	if labels == nil {
		return 0, 0, nil
	}
	for _, l := range labels.Labels {
		switch l.Key {
		case SimDurationLabel:
			if d, err = time.ParseDuration(l.GetValue()); err != nil || d < 0 {
				return 0, 0, &labelError{l.Key, l.GetValue()}
			}
		case SimExitCodeLabel:
			if code, err = strconv.Atoi(l.GetValue()); err != nil {
				return 0, 0, &labelError{l.Key, l.GetValue()}
			}
		}
	}
	return d, code, nil
}

type labelError struct{ key, value string }

func (e *labelError) Error() string {
	return "bad value " + strconv.Quote(e.value) + " for label " + e.key
}

// simLaunchLocked plays the executor for each task: TASK_RUNNING now, the
// scripted terminal state later, both through the reliable update path.
// Timers share the agent's heap; no goroutine is made per task. Every task
// joins its executor before any is played, so a task that ends at once does
// not end an executor the others of the launch share.
func (a *Agent) simLaunchLocked(fw *framework, ei *mesos.ExecutorInfo, infos []mesos.TaskInfo) {
	ts := make([]*task, len(infos))
	for i := range infos {
		ti := &infos[i]
		var ex *executorRun
		if ei == nil {
			ex = a.newExecutorLocked(fw, mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: ti.TaskID.Value}, FrameworkID: fw.info.ID}, kindSim)
			ex.command = true
		} else if ex = fw.executors[ei.ExecutorID.Value]; ex == nil || ex.state >= execTerminating {
			info := *ei
			info.FrameworkID = fw.info.ID
			ex = a.newExecutorLocked(fw, info, kindSim)
		}
		ex.state = execRunning
		t := &task{info: *ti, ex: ex, state: mesos.TASK_STAGING, delivered: true}
		fw.tasks[ti.TaskID.Value] = t
		ex.tasks[ti.TaskID.Value] = t
		ts[i] = t
	}
	for _, t := range ts {
		d, code, err := simScript(t.info.Labels)
		if err != nil {
			a.simStatusLocked(t, mesos.TASK_FAILED, "Failed to launch task: "+err.Error())
			a.simExitIfIdleLocked(t.ex)
			continue
		}
		a.simStatusLocked(t, mesos.TASK_RUNNING, "")
		if d <= 0 {
			a.simFinishLocked(t, code)
			continue
		}
		a.timers.after(d, func() { a.simFinish(t, code) })
	}
}

func (a *Agent) simStatusLocked(t *task, state mesos.TaskState, msg string) {
	st := mesos.TaskStatus{TaskID: t.info.TaskID, State: state.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(), UUID: newUUID()}
	if msg != "" {
		st.Message = &msg
	}
	a.statusLocked(t, st)
}

func (a *Agent) simFinish(t *task, code int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.upOrDeferLocked(func() { a.simFinish(t, code) }) {
		a.simFinishLocked(t, code)
	}
}

func (a *Agent) simFinishLocked(t *task, code int) {
	if link.IsTerminal(t.state) || t.ex.killed || t.ex.exited {
		return
	}
	if code == 0 {
		a.simStatusLocked(t, mesos.TASK_FINISHED, "Command exited with status 0")
	} else {
		a.simStatusLocked(t, mesos.TASK_FAILED, "Command exited with status "+strconv.Itoa(code))
	}
	a.simExitIfIdleLocked(t.ex)
}

// simExitIfIdleLocked ends a simulated executor none of whose tasks is
// live any more, as the command executor, Mesos' default executor and
// Gleaner's executor exit once their tasks ended: an executor that stayed
// would hold its record on the agent and on the master for good (one per
// task for a framework that launches an executor per task). A task
// launched later with the same executor ID starts a new executor, as on a
// Mesos agent.
func (a *Agent) simExitIfIdleLocked(ex *executorRun) {
	if ex.command || !ex.hasLiveTasks() {
		a.simExecutorDoneLocked(ex)
	}
}

func (a *Agent) simKillLocked(t *task) {
	if t.ex.fw.hasCapability(mesos.FrameworkInfo_Capability_TASK_KILLING_STATE) {
		a.simStatusLocked(t, mesos.TASK_KILLING, "")
	}
	a.simStatusLocked(t, mesos.TASK_KILLED, "Command terminated with signal Terminated")
	a.simExitIfIdleLocked(t.ex)
}

func (a *Agent) simShutdownLocked(ex *executorRun) {
	ex.state = execTerminating
	for _, t := range sortedTasks(ex.tasks) {
		if !link.IsTerminal(t.state) {
			a.simStatusLocked(t, mesos.TASK_KILLED, "Command terminated with signal Terminated")
		}
	}
	a.simExecutorDoneLocked(ex)
}

// simExecutorDoneLocked ends a simulated executor as if its process exited
// cleanly.
func (a *Agent) simExecutorDoneLocked(ex *executorRun) {
	if ex.exited {
		return
	}
	ex.exited = true
	ex.state = execTerminated
	if ex.fw.executors[ex.info.ExecutorID.Value] == ex {
		delete(ex.fw.executors, ex.info.ExecutorID.Value)
	}
	agentID, fwID, execID, custom := a.id, *ex.fw.info.ID, ex.info.ExecutorID, !ex.command
	a.out.push(func() { a.cfg.Master.ExecutorTerminated(agentID, fwID, execID, custom, 0) })
}
