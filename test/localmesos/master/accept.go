package master

import (
	"fmt"
	"strings"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// accept is ACCEPT: validate the offers, then apply the operations in order
// against the offered resources (fact sheet §1.4, §2.5, §8.3).
func (m *Master) accept(fw *framework, acc *scheduler.Call_Accept) {
	if msg := m.validateOffers(fw, acc.OfferIDs); msg != "" {
		// Every offer named is thrown away (resources recovered, unfiltered)
		// and every task reported lost or dropped.
		for _, id := range acc.OfferIDs {
			if o := fw.offers[id.Value]; o != nil {
				m.removeOffer(o)
			}
		}
		for _, op := range acc.Operations {
			for _, ti := range opTasks(&op) {
				m.rejectTask(fw, ti, fw.lostState(mesos.TASK_DROPPED), mesos.REASON_INVALID_OFFERS, "Task launched with invalid offers: "+msg)
			}
		}
		m.wakeAllocator()
		return
	}
	if len(acc.OfferIDs) == 0 {
		return
	}
	first := fw.offers[acc.OfferIDs[0].Value]
	a, role := first.agent, first.role
	var offered mesos.Resources
	for _, id := range acc.OfferIDs {
		o := fw.offers[id.Value]
		offered.Add(o.resources...)
		delete(m.offers, o.id)
		delete(fw.offers, o.id)
		delete(a.offers, o.id)
	}
	var converted mesos.Resources
	seen := map[string]bool{}
	launched := false
	for i := range acc.Operations {
		op := &acc.Operations[i]
		switch op.GetType() {
		case mesos.Offer_Operation_LAUNCH:
			if op.Launch == nil {
				continue
			}
			if op.ID != nil {
				for _, ti := range op.Launch.TaskInfos {
					m.rejectTask(fw, ti, mesos.TASK_ERROR, mesos.REASON_TASK_INVALID, "Operation feedback is not supported for LAUNCH")
				}
				continue
			}
			if m.launch(fw, a, role, &offered, op.Launch.TaskInfos, seen) {
				launched = true
			}
		case mesos.Offer_Operation_LAUNCH_GROUP:
			if op.LaunchGroup == nil {
				continue
			}
			if m.launchGroup(fw, a, role, &offered, op.LaunchGroup, seen) {
				launched = true
			}
		case mesos.Offer_Operation_RESERVE:
			if op.Reserve == nil {
				continue
			}
			if to, err := m.schedulerReserve(fw, role, a, &offered, op.Reserve.Resources, op.Reserve.Source); err != nil {
				m.log.Info("dropping RESERVE", "framework", fw.id, "agent", a.id, "error", err)
			} else {
				converted.Add(to...)
			}
		case mesos.Offer_Operation_UNRESERVE:
			if op.Unreserve == nil {
				continue
			}
			if to, err := m.schedulerUnreserve(fw, role, a, &offered, op.Unreserve.Resources); err != nil {
				m.log.Info("dropping UNRESERVE", "framework", fw.id, "agent", a.id, "error", err)
			} else {
				converted.Add(to...)
			}
		default:
			m.log.Info("dropping unsupported operation", "framework", fw.id, "type", op.GetType().String())
		}
	}
	// What no operation used is declined with the call's filters; converted
	// resources come back unfiltered.
	a.available.Add(offered...)
	unused := offered.Clone()
	for _, r := range converted {
		unused.Subtract1(r)
	}
	if !launched && len(converted) == 0 {
		m.stats.declines++
	}
	m.refuse(fw, role, a, unused, acc.Filters)
	m.wakeAllocator()
}

// validateOffers returns why the offer set is invalid, or "".
func (m *Master) validateOffers(fw *framework, ids []mesos.OfferID) string {
	seen := map[string]bool{}
	var a *agent
	role := ""
	for _, id := range ids {
		if seen[id.Value] {
			return "Duplicate offer " + id.Value + " in offer list"
		}
		seen[id.Value] = true
		o := fw.offers[id.Value]
		if o == nil {
			return "Offer " + id.Value + " is no longer valid"
		}
		if a == nil {
			a, role = o.agent, o.role
			continue
		}
		if o.agent != a {
			return "Aggregated offers must belong to one single agent"
		}
		if o.role != role {
			return "Aggregated offers must be allocated to the same role"
		}
	}
	return ""
}

func opTasks(op *mesos.Offer_Operation) []mesos.TaskInfo {
	switch op.GetType() {
	case mesos.Offer_Operation_LAUNCH:
		if op.Launch != nil {
			return op.Launch.TaskInfos
		}
	case mesos.Offer_Operation_LAUNCH_GROUP:
		if op.LaunchGroup != nil {
			return op.LaunchGroup.TaskGroup.Tasks
		}
	}
	return nil
}

// rejectTask sends a master-made terminal update (no uuid) for a task that
// was never launched, and counts it.
func (m *Master) rejectTask(fw *framework, ti mesos.TaskInfo, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) {
	aid := ti.AgentID
	st := masterStatus(ti.TaskID, state, reason, msg, &aid)
	if ti.Executor != nil {
		eid := ti.Executor.ExecutorID
		st.ExecutorID = &eid
	}
	switch state {
	case mesos.TASK_LOST:
		m.stats.tasksLost++
	case mesos.TASK_DROPPED:
		m.stats.tasksDropped++
	case mesos.TASK_ERROR:
		m.stats.tasksError++
	}
	fw.send(updateEvent(st))
}

// taskResources validates and normalizes resources handed in by a scheduler:
// non-empty, valid, all allocated to the offer's role.
func taskResources(rs []mesos.Resource, role string) (mesos.Resources, error) {
	var out mesos.Resources
	for _, r := range rs {
		if ai := r.AllocationInfo; ai != nil && ai.GetRole() != role {
			return nil, fmt.Errorf("resource %s is allocated to role %q, not %q", r.Name, ai.GetRole(), role)
		}
		n, err := normalize(r)
		if err != nil {
			return nil, err
		}
		out.Add1(n)
	}
	return out, nil
}

// checkTask applies the master's task validation; it returns the task's
// and (new) executor's resources.
func (m *Master) checkTask(fw *framework, a *agent, role string, offered mesos.Resources, ti *mesos.TaskInfo, seen map[string]bool, custom bool) (task, exec mesos.Resources, newExec bool, err error) {
	if ti.TaskID.Value == "" {
		return nil, nil, false, fmt.Errorf("task ID must not be empty")
	}
	if strings.ContainsAny(ti.TaskID.Value, "/\x00") || ti.TaskID.Value == "." || ti.TaskID.Value == ".." {
		return nil, nil, false, fmt.Errorf("task ID %q is invalid", ti.TaskID.Value)
	}
	if seen[ti.TaskID.Value] || fw.tasks[ti.TaskID.Value] != nil {
		return nil, nil, false, fmt.Errorf("task ID %q is a duplicate of an active task", ti.TaskID.Value)
	}
	if ti.AgentID.Value != a.id {
		return nil, nil, false, fmt.Errorf("task uses agent %s, but the offer is for agent %s", ti.AgentID.Value, a.id)
	}
	if custom {
		if (ti.Executor == nil) == (ti.Command == nil) {
			return nil, nil, false, fmt.Errorf("task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
		}
	}
	if kp := ti.KillPolicy; kp != nil && kp.GracePeriod != nil && kp.GracePeriod.Nanoseconds < 0 {
		return nil, nil, false, fmt.Errorf("kill policy grace period must be non-negative")
	}
	if len(ti.Resources) == 0 {
		return nil, nil, false, fmt.Errorf("task uses no resources")
	}
	task, err = taskResources(ti.Resources, role)
	if err != nil {
		return nil, nil, false, err
	}
	need := task.Clone()
	if e := ti.Executor; e != nil {
		if custom && e.Type != mesos.ExecutorInfo_CUSTOM {
			return nil, nil, false, fmt.Errorf("'ExecutorInfo.type' must be 'CUSTOM'")
		}
		if e.Command == nil && e.Type != mesos.ExecutorInfo_DEFAULT {
			return nil, nil, false, fmt.Errorf("'ExecutorInfo.command' must be set")
		}
		if e.FrameworkID != nil && e.FrameworkID.Value != fw.id {
			return nil, nil, false, fmt.Errorf("ExecutorInfo has an invalid FrameworkID")
		}
		running := fw.executors[execKey{fw.id, e.ExecutorID.Value}]
		if running != nil && running.agent == a {
			want := *proto.Clone(e).(*mesos.ExecutorInfo)
			want.FrameworkID = &mesos.FrameworkID{Value: fw.id}
			if !running.info.Equal(&want) {
				return nil, nil, false, fmt.Errorf("ExecutorInfo is not compatible with the running executor %s", e.ExecutorID.Value)
			}
		} else {
			exec, err = taskResources(e.Resources, role)
			if err != nil {
				return nil, nil, false, err
			}
			need.Add(exec...)
			newExec = true
		}
	}
	if !contains(offered, need) {
		return nil, nil, false, fmt.Errorf("task uses more resources %s than available %s", need, offered)
	}
	return task, exec, newExec, nil
}

// launch handles one LAUNCH operation.
func (m *Master) launch(fw *framework, a *agent, role string, offered *mesos.Resources, tis []mesos.TaskInfo, seen map[string]bool) bool {
	var command []mesos.TaskInfo
	type group struct {
		exec  *mesos.ExecutorInfo
		tasks []mesos.TaskInfo
	}
	var groups []*group
	byExec := map[string]*group{}
	for i := range tis {
		ti := tis[i]
		tr, er, newExec, err := m.checkTask(fw, a, role, *offered, &ti, seen, true)
		if err != nil {
			m.rejectTask(fw, ti, mesos.TASK_ERROR, mesos.REASON_TASK_INVALID, err.Error())
			continue
		}
		seen[ti.TaskID.Value] = true
		offered.Subtract(tr...)
		var eid *mesos.ExecutorID
		if ti.Executor != nil {
			e := proto.Clone(ti.Executor).(*mesos.ExecutorInfo)
			e.FrameworkID = &mesos.FrameworkID{Value: fw.id}
			ti.Executor = e
			id := e.ExecutorID
			eid = &id
			if newExec {
				offered.Subtract(er...)
				m.addExecutor(fw, a, role, *e, er)
			}
			g := byExec[e.ExecutorID.Value]
			if g == nil {
				g = &group{exec: e}
				byExec[e.ExecutorID.Value] = g
				groups = append(groups, g)
			}
			g.tasks = append(g.tasks, ti)
		} else {
			// A command task has no executor_id in the master's state
			// (Task.executor_id is set only from TaskInfo.executor), though
			// the agent runs it under a command executor of the task's ID.
			command = append(command, ti)
		}
		m.addTask(fw, a, role, ti, tr, eid)
	}
	fi, l := fw.info, a.link
	if len(command) > 0 {
		m.later(l, func() { l.Launch(fi, nil, command, false) })
	}
	for _, g := range groups {
		g := g
		m.later(l, func() { l.Launch(fi, g.exec, g.tasks, false) })
	}
	return len(command)+len(groups) > 0
}

// launchGroup handles LAUNCH_GROUP: all tasks launch, or all fail.
func (m *Master) launchGroup(fw *framework, a *agent, role string, offered *mesos.Resources, lg *mesos.Offer_Operation_LaunchGroup, seen map[string]bool) bool {
	e := *proto.Clone(&lg.Executor).(*mesos.ExecutorInfo)
	fail := func(msg string) bool {
		for _, ti := range lg.TaskGroup.Tasks {
			m.rejectTask(fw, ti, mesos.TASK_ERROR, mesos.REASON_TASK_GROUP_INVALID, msg)
		}
		return false
	}
	if e.Type == mesos.ExecutorInfo_UNKNOWN {
		return fail("'ExecutorInfo.type' must be set")
	}
	if len(lg.TaskGroup.Tasks) == 0 {
		return fail("task group must have at least one task")
	}
	e.FrameworkID = &mesos.FrameworkID{Value: fw.id}
	rest := offered.Clone()
	var execRes mesos.Resources
	newExec := false
	running := fw.executors[execKey{fw.id, e.ExecutorID.Value}]
	if running != nil && running.agent == a {
		if !running.info.Equal(&e) {
			return fail("ExecutorInfo is not compatible with the running executor " + e.ExecutorID.Value)
		}
	} else {
		var err error
		if execRes, err = taskResources(e.Resources, role); err != nil {
			return fail(err.Error())
		}
		if !contains(rest, execRes) {
			return fail("executor uses more resources than available")
		}
		rest.Subtract(execRes...)
		newExec = true
	}
	local := map[string]bool{}
	for k := range seen {
		local[k] = true
	}
	var trs []mesos.Resources
	for i := range lg.TaskGroup.Tasks {
		ti := &lg.TaskGroup.Tasks[i]
		if ti.Executor != nil {
			return fail("task in a group must not set 'executor'")
		}
		tr, _, _, err := m.checkTask(fw, a, role, rest, ti, local, false)
		if err != nil {
			return fail(err.Error())
		}
		local[ti.TaskID.Value] = true
		rest.Subtract(tr...)
		trs = append(trs, tr)
	}
	*offered = rest
	if newExec {
		m.addExecutor(fw, a, role, e, execRes)
	}
	eid := e.ExecutorID
	tasks := make([]mesos.TaskInfo, len(lg.TaskGroup.Tasks))
	for i, ti := range lg.TaskGroup.Tasks {
		seen[ti.TaskID.Value] = true
		m.addTask(fw, a, role, ti, trs[i], &eid)
		tasks[i] = ti
	}
	fi, l := fw.info, a.link
	m.later(l, func() { l.Launch(fi, &e, tasks, true) })
	return true
}

func (m *Master) addExecutor(fw *framework, a *agent, role string, info mesos.ExecutorInfo, rs mesos.Resources) {
	e := &executor{fw: fw.id, agent: a, info: info, role: role, resources: rs}
	k := execKey{fw.id, info.ExecutorID.Value}
	fw.executors[k] = e
	a.executors[k] = e
}

func (m *Master) addTask(fw *framework, a *agent, role string, ti mesos.TaskInfo, rs mesos.Resources, eid *mesos.ExecutorID) {
	fid := mesos.FrameworkID{Value: fw.id}
	t := &task{fw: fw.id, agent: a, role: role, resources: rs, info: mesos.Task{
		Name: ti.Name, TaskID: ti.TaskID, FrameworkID: fid, ExecutorID: eid, AgentID: ti.AgentID,
		State: mesos.TASK_STAGING.Enum(), Resources: forFramework(rs, role, true, true),
		Labels: ti.Labels, Discovery: ti.Discovery, Container: ti.Container, HealthCheck: ti.HealthCheck,
		KillPolicy: ti.KillPolicy,
	}}
	fw.tasks[ti.TaskID.Value] = t
	a.tasks[taskKey{fw.id, ti.TaskID.Value}] = t
	m.stats.launched++
}

// releaseTask gives a task's resources back to its agent (once).
func (m *Master) releaseTask(t *task) {
	if t.released {
		return
	}
	t.released = true
	if t.agent != nil && !t.agent.gone {
		t.agent.available.Add(t.resources...)
	}
}

func (m *Master) releaseExecutor(e *executor) {
	k := execKey{e.fw, e.info.ExecutorID.Value}
	delete(e.agent.executors, k)
	if fw := m.frameworks[e.fw]; fw != nil {
		delete(fw.executors, k)
	}
	if !e.agent.gone {
		e.agent.available.Add(e.resources...)
	}
}

// schedulerReserve applies a RESERVE offer operation to the offered
// resources and the agent's total; it returns the reserved resources.
func (m *Master) schedulerReserve(fw *framework, role string, a *agent, offered *mesos.Resources, rs []mesos.Resource, source []mesos.Resource) (mesos.Resources, error) {
	if len(source) > 0 {
		return nil, fmt.Errorf("'source' is not supported on the scheduler API")
	}
	to, err := taskResources(rs, role)
	if err != nil {
		return nil, err
	}
	if err := checkReserve(to, fw.info.GetPrincipal()); err != nil {
		return nil, err
	}
	for _, r := range to {
		if r.ReservationRole() != role {
			return nil, fmt.Errorf("reservation role %q differs from the offer's role %q", r.ReservationRole(), role)
		}
	}
	from := popAll(to)
	if !contains(*offered, from) {
		return nil, fmt.Errorf("offered resources do not contain %s", from)
	}
	applyConversion(offered, from, to)
	applyConversion(&a.total, from, to)
	return to, nil
}

func (m *Master) schedulerUnreserve(fw *framework, role string, a *agent, offered *mesos.Resources, rs []mesos.Resource) (mesos.Resources, error) {
	from, err := taskResources(rs, role)
	if err != nil {
		return nil, err
	}
	if err := checkUnreserve(from); err != nil {
		return nil, err
	}
	to := popAll(from)
	if !applyConversion(offered, from, to) {
		return nil, fmt.Errorf("offered resources do not contain %s", from)
	}
	applyConversion(&a.total, from, to)
	return to, nil
}
