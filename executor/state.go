package executor

import (
	"fmt"
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// State is the executor's bookkeeping of tasks and status updates, kept
// free of I/O: every update stays until the agent ACKNOWLEDGEs it, and a
// task stays "unacknowledged" until one of its updates is acknowledged, so a
// re-SUBSCRIBE after an agent restart can list both.
type State struct {
	tasks   map[string]*taskRecord
	updates []executor.Call_Update // not yet acknowledged, in send order
}

type taskRecord struct {
	info     mesos.TaskInfo
	acked    bool // some update of the task was acknowledged
	terminal bool // a terminal update was recorded
	last     mesos.TaskState
}

// NewState returns empty bookkeeping.
func NewState() *State { return &State{tasks: map[string]*taskRecord{}} }

// Launch records a new task; a task id already known is an error.
func (s *State) Launch(ti mesos.TaskInfo) error {
	id := ti.TaskID.Value
	if id == "" {
		return fmt.Errorf("launch: task has no task_id")
	}
	if _, ok := s.tasks[id]; ok {
		return fmt.Errorf("launch: task %s is already known", id)
	}
	s.tasks[id] = &taskRecord{info: ti, last: mesos.TASK_STAGING}
	return nil
}

// Record keeps a status update until it is acknowledged and returns the
// update call body. Updates after a terminal one are refused.
func (s *State) Record(st mesos.TaskStatus) (executor.Call_Update, error) {
	id := st.TaskID.Value
	t, ok := s.tasks[id]
	if !ok {
		return executor.Call_Update{}, fmt.Errorf("update: unknown task %s", id)
	}
	if t.terminal {
		return executor.Call_Update{}, fmt.Errorf("update: task %s already reached a terminal state", id)
	}
	if len(st.UUID) != 16 {
		return executor.Call_Update{}, fmt.Errorf("update: task %s: uuid must be 16 bytes", id)
	}
	t.last = st.GetState()
	t.terminal = IsTerminal(t.last)
	u := executor.Call_Update{Status: st}
	s.updates = append(s.updates, u)
	return u, nil
}

// Ack forgets the acknowledged update; a task whose terminal update was
// acknowledged is forgotten as well. It reports whether the update was known.
func (s *State) Ack(taskID string, uuid []byte) bool {
	found := false
	for i, u := range s.updates {
		if u.Status.TaskID.Value == taskID && string(u.Status.UUID) == string(uuid) {
			s.updates = append(s.updates[:i:i], s.updates[i+1:]...)
			found = true
			break
		}
	}
	if t, ok := s.tasks[taskID]; ok && found {
		t.acked = true
		if t.terminal && !s.hasUpdates(taskID) {
			delete(s.tasks, taskID)
		}
	}
	return found
}

func (s *State) hasUpdates(taskID string) bool {
	for _, u := range s.updates {
		if u.Status.TaskID.Value == taskID {
			return true
		}
	}
	return false
}

// Unacknowledged lists what a SUBSCRIBE must carry: tasks none of whose
// updates was acknowledged (sorted by id) and every pending update (in order).
func (s *State) Unacknowledged() ([]mesos.TaskInfo, []executor.Call_Update) {
	var tasks []mesos.TaskInfo
	for _, t := range s.tasks {
		if !t.acked {
			tasks = append(tasks, t.info)
		}
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].TaskID.Value < tasks[j].TaskID.Value })
	return tasks, append([]executor.Call_Update(nil), s.updates...)
}

// Active lists tasks without a terminal update, sorted.
func (s *State) Active() []string {
	var ids []string
	for id, t := range s.tasks {
		if !t.terminal {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Known reports whether the task is tracked (not yet forgotten).
func (s *State) Known(taskID string) bool { _, ok := s.tasks[taskID]; return ok }

// Latest is the newest recorded state of a task.
func (s *State) Latest(taskID string) (mesos.TaskState, bool) {
	t, ok := s.tasks[taskID]
	if !ok {
		return 0, false
	}
	return t.last, true
}

// Idle is true when no task is running and every update was acknowledged.
func (s *State) Idle() bool { return len(s.Active()) == 0 && len(s.updates) == 0 }

// IsTerminal reports whether a task state is final.
func IsTerminal(st mesos.TaskState) bool {
	switch st {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR,
		mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR, mesos.TASK_UNKNOWN:
		return true
	}
	return false
}
