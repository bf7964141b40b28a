package master

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
)

// framework is the master's record of one framework.
type framework struct {
	id             string
	info           mesos.FrameworkInfo
	roles          []string
	multiRole      bool
	refinement     bool
	partitionAware bool
	recovered      bool // known only from re-registering agents

	stream   *eventStream // nil while disconnected
	failover *time.Timer

	suppressed map[string]bool
	filters    map[filterKey]*refuseFilter
	offers     map[string]*offer
	tasks      map[string]*task // active and terminal-but-unacknowledged
	completed  completedTasks
	executors  map[execKey]*executor

	registered, reregistered, unregistered time.Time
	removedAt                              time.Time
}

type filterKey struct{ role, agent string }

type refuseFilter struct {
	until     time.Time
	resources mesos.Resources
}

type execKey struct{ framework, executor string }

type executor struct {
	fw        string
	agent     *agent
	info      mesos.ExecutorInfo
	role      string
	resources mesos.Resources
}

// agent is the master's record of one agent.
type agent struct {
	id          string
	info        mesos.AgentInfo
	ip          string // from link.Addressed; empty when the agent does not say
	link        link.Agent
	total       mesos.Resources // internal (post-refinement) form
	available   mesos.Resources // total minus tasks, executors and offers
	offers      map[string]*offer
	tasks       map[taskKey]*task
	executors   map[execKey]*executor
	gone        bool // removed: unreachable or marked gone
	markedGone  bool
	unreachable time.Time
	registered  time.Time
	reregisterd time.Time
}

// address is the host part of the agent's pid and offer url: its IP when
// known, else its hostname.
func (a *agent) address() string {
	if a.ip != "" {
		return a.ip
	}
	return a.info.Hostname
}

// allocated is what the agent's unreleased tasks and its executors hold.
func (a *agent) allocated() mesos.Resources {
	var out mesos.Resources
	for _, t := range a.tasks {
		if !t.released {
			out.Add(t.resources...)
		}
	}
	for _, e := range a.executors {
		out.Add(e.resources...)
	}
	return out
}

// offered is what the agent's outstanding offers hold.
func (a *agent) offered() mesos.Resources {
	var out mesos.Resources
	for _, o := range a.offers {
		out.Add(o.resources...)
	}
	return out
}

type taskKey struct{ framework, task string }

// task is a launched task. resources are held on the agent until the agent
// reports a terminal latest state.
type task struct {
	fw        string
	agent     *agent
	role      string
	info      mesos.Task
	resources mesos.Resources
	released  bool
	// the last status forwarded with a uuid, acknowledged or not
	lastUUID  []byte
	lastState mesos.TaskState
	// acked: uuids whose acknowledgement reached the agent (a second one
	// is unexpected there)
	acked map[string]bool
}

type offer struct {
	id        string
	fw        *framework
	agent     *agent
	role      string
	resources mesos.Resources // internal form, no allocation info
}

type counters struct {
	launched, statusUpdates, invalidUpdates, acks, invalidAcks  int64
	declines, revives, suppresses, kills, reconciles, registers int64
	reregisters, allocationRuns, offersSent, offersRescinded    int64
	tasksLost, tasksDropped, tasksError                         int64
	// killsOfTerminal: KILLs of tasks the master knows ended;
	// unexpectedAcks: acknowledgements of an update already acknowledged
	// (or of a completed task), which an agent refuses as unexpected.
	killsOfTerminal, unexpectedAcks int64
	// completed counts every task that completed, by its final state
	// (the bounded lists keep only the newest).
	completed map[mesos.TaskState]float64
}

func (fw *framework) connected() bool { return fw.stream != nil }

func (fw *framework) send(e *scheduler.Event) {
	if fw.stream != nil {
		fw.stream.send(e)
	}
}

func (fw *framework) hasRole(role string) bool {
	for _, r := range fw.roles {
		if r == role {
			return true
		}
	}
	return false
}

// lostState is the state a task in a partition or unknown case gets:
// TASK_LOST unless the framework is PARTITION_AWARE.
func (fw *framework) lostState(aware mesos.TaskState) mesos.TaskState {
	if fw.partitionAware {
		return aware
	}
	return mesos.TASK_LOST
}

// frameworkRoles derives the subscribed roles from FrameworkInfo.
func frameworkRoles(info *mesos.FrameworkInfo) []string {
	if hasCapability(info, mesos.FrameworkInfo_Capability_MULTI_ROLE) {
		return append([]string(nil), info.Roles...)
	}
	return []string{info.GetRole()}
}

func hasCapability(info *mesos.FrameworkInfo, c mesos.FrameworkInfo_Capability_Type) bool {
	for _, x := range info.Capabilities {
		if x.GetType() == c {
			return true
		}
	}
	return false
}

func (fw *framework) setInfo(info mesos.FrameworkInfo) {
	fw.info = info
	fw.roles = frameworkRoles(&info)
	fw.multiRole = hasCapability(&info, mesos.FrameworkInfo_Capability_MULTI_ROLE)
	fw.refinement = hasCapability(&info, mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT)
	fw.partitionAware = hasCapability(&info, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
}

func newFramework(id string, maxCompletedTasks int) *framework {
	return &framework{
		id:         id,
		completed:  completedTasks{max: maxCompletedTasks},
		suppressed: map[string]bool{},
		filters:    map[filterKey]*refuseFilter{},
		offers:     map[string]*offer{},
		tasks:      map[string]*task{},
		executors:  map[execKey]*executor{},
	}
}

// Defaults of the bounds on what a master keeps of finished work, as
// Mesos 1.12's --max_completed_tasks_per_framework and
// --max_completed_frameworks.
const (
	DefaultMaxCompletedTasksPerFramework = 1000
	DefaultMaxCompletedFrameworks        = 50
)

// completedTasks keeps the newest completed tasks of a framework, at most
// max, as a ring (Mesos keeps a boost::circular_buffer of them), with an
// index by task ID for acknowledgements and kills of completed tasks.
type completedTasks struct {
	max   int
	ring  []mesos.Task
	next  int // where the next one goes once the ring is full
	index map[string]int
}

func (c *completedTasks) add(t mesos.Task) {
	if c.max <= 0 {
		return
	}
	if c.index == nil {
		c.index = map[string]int{}
	}
	if len(c.ring) < c.max {
		c.index[t.TaskID.Value] = len(c.ring)
		c.ring = append(c.ring, t)
		return
	}
	old := c.ring[c.next].TaskID.Value
	if c.index[old] == c.next {
		delete(c.index, old)
	}
	c.ring[c.next] = t
	c.index[t.TaskID.Value] = c.next
	c.next = (c.next + 1) % c.max
}

// contains reports whether the task is among the completed ones kept.
func (c *completedTasks) contains(taskID string) bool {
	_, ok := c.index[taskID]
	return ok
}

// len is how many are kept.
func (c *completedTasks) len() int { return len(c.ring) }

// all returns the kept tasks, oldest first.
func (c *completedTasks) all() []mesos.Task {
	out := make([]mesos.Task, 0, len(c.ring))
	out = append(out, c.ring[c.next:]...)
	return append(out, c.ring[:c.next]...)
}

// wasCompleted reports whether the task is among the completed ones kept.
func (fw *framework) wasCompleted(taskID string) bool { return fw.completed.contains(taskID) }

// completeTask moves t to fw's completed tasks and counts it.
func (m *Master) completeTask(fw *framework, t *task) {
	if m.stats.completed == nil {
		m.stats.completed = map[mesos.TaskState]float64{}
	}
	m.stats.completed[t.info.GetState()]++
	fw.complete(t)
}

func (fw *framework) complete(t *task) {
	delete(fw.tasks, t.info.TaskID.Value)
	if t.agent != nil {
		delete(t.agent.tasks, taskKey{t.fw, t.info.TaskID.Value})
	}
	fw.completed.add(t.info)
}
