package master

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/roles"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

const streamHeader = "Mesos-Stream-Id"

// serveScheduler is POST /api/v1/scheduler. Checks run in the order the
// Mesos master makes them (fact sheet §1.5).
func (m *Master) serveScheduler(w http.ResponseWriter, r *http.Request) {
	if !m.authenticate(w, r, "mesos-master-scheduler") {
		return
	}
	var call scheduler.Call
	req, err := wire.ReadCall(r, &call)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validateCall(&call); err != nil {
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Failed to validate scheduler::Call: %s", err))
		return
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		if !req.AcceptOK() {
			wire.WriteError(w, wire.Errorf(http.StatusNotAcceptable, "%s", wire.NotAcceptableMessage))
			return
		}
		if r.Header.Get(streamHeader) != "" {
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Subscribe calls should not include the 'Mesos-Stream-Id' header"))
			return
		}
		m.subscribe(w, r, req.ResponseCodec, call.Subscribe)
		return
	}
	if call.Type == scheduler.Call_RECONCILE_OPERATIONS && !req.AcceptOK() {
		wire.WriteError(w, wire.Errorf(http.StatusNotAcceptable, "%s", wire.NotAcceptableMessage))
		return
	}
	m.mu.Lock()
	fw := m.frameworks[call.FrameworkID.Value]
	if fw == nil {
		m.mu.Unlock()
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Framework cannot be found"))
		return
	}
	if p := authPrincipal(r); p != "" && m.authOn() && fw.info.GetPrincipal() != p {
		m.mu.Unlock()
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`", p, fw.info.GetPrincipal()))
		return
	}
	if !fw.connected() {
		m.mu.Unlock()
		wire.WriteError(w, wire.Errorf(http.StatusForbidden, "Framework is not subscribed"))
		return
	}
	sid := r.Header.Get(streamHeader)
	if sid == "" {
		m.mu.Unlock()
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"))
		return
	}
	if sid != fw.stream.id {
		m.mu.Unlock()
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", sid, fw.id))
		return
	}
	status := http.StatusAccepted
	switch call.Type {
	case scheduler.Call_TEARDOWN:
		m.removeFramework(fw, "teardown")
	case scheduler.Call_ACCEPT:
		m.accept(fw, call.Accept)
	case scheduler.Call_DECLINE:
		m.decline(fw, call.Decline.OfferIDs, call.Decline.Filters)
	case scheduler.Call_REVIVE:
		m.revive(fw, call.Revive.GetRoles())
	case scheduler.Call_SUPPRESS:
		m.suppress(fw, call.Suppress.GetRoles())
	case scheduler.Call_KILL:
		m.kill(fw, call.Kill)
	case scheduler.Call_SHUTDOWN:
		if a := m.agents[call.Shutdown.AgentID.Value]; a != nil && !a.gone {
			fwID, eid, l := mesos.FrameworkID{Value: fw.id}, call.Shutdown.ExecutorID, a.link
			m.later(l, func() { l.ShutdownExecutor(fwID, eid) })
		}
	case scheduler.Call_ACKNOWLEDGE:
		m.acknowledge(fw, call.Acknowledge)
	case scheduler.Call_RECONCILE:
		m.reconcile(fw, call.Reconcile.Tasks)
	case scheduler.Call_MESSAGE:
		if a := m.agents[call.Message.AgentID.Value]; a != nil && !a.gone {
			fwID, eid, data, l := mesos.FrameworkID{Value: fw.id}, call.Message.ExecutorID, call.Message.Data, a.link
			m.later(l, func() { l.FrameworkMessage(fwID, eid, data) })
		}
	case scheduler.Call_UPDATE_FRAMEWORK:
		if err := m.updateFramework(fw, call.UpdateFramework); err != nil {
			m.unlock()
			wire.WriteError(w, err)
			return
		}
		status = http.StatusOK
	case scheduler.Call_REQUEST, scheduler.Call_ACCEPT_INVERSE_OFFERS, scheduler.Call_DECLINE_INVERSE_OFFERS,
		scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS, scheduler.Call_RECONCILE_OPERATIONS:
		// The built-in allocator ignores requests; there are no inverse
		// offers and no operations with feedback here.
	}
	m.unlock()
	w.WriteHeader(status)
}

// validateCall applies the master's checks on the call itself (all 400).
func validateCall(c *scheduler.Call) error {
	if c.Type == scheduler.Call_UNKNOWN {
		return fmt.Errorf("Expecting 'type' to be present")
	}
	if _, ok := scheduler.Call_Type_name[int32(c.Type)]; !ok {
		return fmt.Errorf("unknown call type %d", c.Type)
	}
	missing := func(name string) error { return fmt.Errorf("Expecting '%s' to be present", name) }
	if c.Type == scheduler.Call_SUBSCRIBE {
		if c.Subscribe == nil || c.Subscribe.FrameworkInfo == nil {
			return missing("subscribe")
		}
		if c.FrameworkID != nil || c.Subscribe.FrameworkInfo.ID != nil {
			if c.FrameworkID.GetValue() != c.Subscribe.FrameworkInfo.GetID().GetValue() {
				return fmt.Errorf("'framework_id' differs from 'subscribe.framework_info.id'")
			}
		}
		return nil
	}
	if c.FrameworkID == nil || c.FrameworkID.Value == "" {
		return missing("framework_id")
	}
	switch c.Type {
	case scheduler.Call_ACCEPT:
		if c.Accept == nil {
			return missing("accept")
		}
	case scheduler.Call_DECLINE:
		if c.Decline == nil {
			return missing("decline")
		}
	case scheduler.Call_ACCEPT_INVERSE_OFFERS:
		if c.AcceptInverseOffers == nil {
			return missing("accept_inverse_offers")
		}
	case scheduler.Call_DECLINE_INVERSE_OFFERS:
		if c.DeclineInverseOffers == nil {
			return missing("decline_inverse_offers")
		}
	case scheduler.Call_KILL:
		if c.Kill == nil {
			return missing("kill")
		}
		if c.Kill.TaskID.Value == "" {
			return missing("kill.task_id")
		}
	case scheduler.Call_SHUTDOWN:
		if c.Shutdown == nil {
			return missing("shutdown")
		}
	case scheduler.Call_ACKNOWLEDGE:
		if c.Acknowledge == nil {
			return missing("acknowledge")
		}
		if !wire.ValidUUID(c.Acknowledge.UUID) {
			return fmt.Errorf("'acknowledge.uuid' is not a valid UUID")
		}
	case scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS:
		a := c.AcknowledgeOperationStatus
		if a == nil {
			return missing("acknowledge_operation_status")
		}
		if !wire.ValidUUID(a.UUID) {
			return fmt.Errorf("'acknowledge_operation_status.uuid' is not a valid UUID")
		}
		if a.AgentID == nil {
			return missing("acknowledge_operation_status.agent_id")
		}
	case scheduler.Call_RECONCILE:
		if c.Reconcile == nil {
			return missing("reconcile")
		}
	case scheduler.Call_RECONCILE_OPERATIONS:
		if c.ReconcileOperations == nil {
			return missing("reconcile_operations")
		}
	case scheduler.Call_MESSAGE:
		if c.Message == nil {
			return missing("message")
		}
	case scheduler.Call_REQUEST:
		if c.Request == nil {
			return missing("request")
		}
	case scheduler.Call_UPDATE_FRAMEWORK:
		if c.UpdateFramework == nil {
			return missing("update_framework")
		}
	}
	return nil
}

// validateFrameworkInfo checks the role rules; failures are reported as an
// ERROR event on a 200 stream, as Mesos does.
func validateFrameworkInfo(info *mesos.FrameworkInfo) error {
	if info.User == "" {
		return fmt.Errorf("'FrameworkInfo.user' must be set")
	}
	if info.Name == "" {
		return fmt.Errorf("'FrameworkInfo.name' must be set")
	}
	multi := hasCapability(info, mesos.FrameworkInfo_Capability_MULTI_ROLE)
	if !multi {
		if len(info.Roles) > 0 {
			return fmt.Errorf("'FrameworkInfo.roles' is set but the MULTI_ROLE capability is not")
		}
		if _, err := roles.Parse(info.GetRole()); err != nil {
			return fmt.Errorf("invalid role %q: %v", info.GetRole(), err)
		}
		return nil
	}
	if info.Role != nil {
		return fmt.Errorf("'FrameworkInfo.role' must not be set together with the MULTI_ROLE capability")
	}
	seen := map[string]bool{}
	for _, r := range info.Roles {
		if _, err := roles.Parse(r); err != nil {
			return fmt.Errorf("invalid role %q: %v", r, err)
		}
		if seen[r] {
			return fmt.Errorf("'FrameworkInfo.roles' contains duplicate role %q", r)
		}
		seen[r] = true
	}
	if info.FailoverTimeout != nil && (info.GetFailoverTimeout() < 0 || info.GetFailoverTimeout() != info.GetFailoverTimeout()) {
		return fmt.Errorf("invalid 'FrameworkInfo.failover_timeout'")
	}
	return nil
}

// subscribe registers or re-attaches a framework and serves its stream until
// the client goes away or the master closes it.
func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, codec wire.Codec, sub *scheduler.Call_Subscribe) {
	info := *sub.FrameworkInfo
	s := newEventStream(uuid.NewString(), codec)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		wire.WriteError(w, wire.Errorf(http.StatusServiceUnavailable, "Master is shutting down"))
		return
	}
	if err := m.attach(s, &info, sub.SuppressedRoles, authPrincipal(r)); err != nil {
		m.unlock()
		// Semantic errors come as 200 plus one ERROR event.
		s.send(&scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: err.Error()}})
		s.close()
		s.serve(w, r, m.cfg.HeartbeatInterval)
		return
	}
	m.unlock()
	m.wakeAllocator()
	s.serve(w, r, m.cfg.HeartbeatInterval)
	s.abort()
	m.mu.Lock()
	if fw := m.frameworks[info.GetID().GetValue()]; fw != nil && fw.stream == s {
		m.disconnect(fw)
	}
	m.unlock()
}

// attach does the state part of SUBSCRIBE under mu; info.ID is set on return.
func (m *Master) attach(s *eventStream, info *mesos.FrameworkInfo, suppressed []string, principal string) error {
	if err := validateFrameworkInfo(info); err != nil {
		return err
	}
	if m.authOn() && principal != "" && info.GetPrincipal() != principal {
		return fmt.Errorf("Framework principal '%s' does not match authenticated principal '%s'", info.GetPrincipal(), principal)
	}
	now := time.Now()
	var fw *framework
	if info.ID != nil && info.ID.Value != "" {
		id := info.ID.Value
		if m.removed[id] != nil {
			return fmt.Errorf("Framework has been removed")
		}
		fw = m.frameworks[id]
		if fw != nil && !fw.recovered {
			if fw.info.GetPrincipal() != info.GetPrincipal() {
				return fmt.Errorf("Changing framework's principal is not allowed")
			}
			// user and checkpoint cannot change: the old values win.
			info.User = fw.info.User
			info.Checkpoint = fw.info.Checkpoint
		}
	}
	if fw == nil {
		id := ""
		if info.ID != nil && info.ID.Value != "" {
			id = info.ID.Value // unknown to this master (e.g. after a master failover)
		} else {
			id = m.nextFrameworkID()
		}
		info.ID = &mesos.FrameworkID{Value: id}
		fw = newFramework(id, m.cfg.MaxCompletedTasksPerFramework)
		fw.registered = now
		m.frameworks[id] = fw
		m.fwOrder = append(m.fwOrder, fw)
		m.stats.registers++
	} else {
		m.stats.reregisters++
		fw.reregistered = now
		if fw.recovered {
			fw.registered = now
			fw.recovered = false
		}
		if old := fw.stream; old != nil {
			old.send(&scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: "Framework failed over"}})
			old.close()
		}
		if fw.failover != nil {
			fw.failover.Stop()
			fw.failover = nil
		}
		// Outstanding offers are discarded on failover, without RESCIND.
		for _, o := range fw.offers {
			m.removeOffer(o)
		}
		for _, a := range m.agentOrder {
			if !a.gone && a.hasFramework(fw.id) {
				l, fi := a.link, *info
				m.later(l, func() { l.UpdateFramework(fi) })
			}
		}
	}
	fw.setInfo(*info)
	fw.stream = s
	fw.suppressed = map[string]bool{}
	for _, r := range suppressed {
		fw.suppressed[r] = true
	}
	hb := m.cfg.HeartbeatInterval.Seconds()
	mi := m.info
	s.send(&scheduler.Event{Type: scheduler.Event_SUBSCRIBED, Subscribed: &scheduler.Event_Subscribed{
		FrameworkID: &mesos.FrameworkID{Value: fw.id}, HeartbeatIntervalSeconds: &hb, MasterInfo: &mi,
	}})
	s.send(&scheduler.Event{Type: scheduler.Event_HEARTBEAT})
	return nil
}

func (a *agent) hasFramework(fwID string) bool {
	for k := range a.executors {
		if k.framework == fwID {
			return true
		}
	}
	for k := range a.tasks {
		if k.framework == fwID {
			return true
		}
	}
	return false
}

// disconnect handles a broken subscription: offers go back, calls get 403,
// and the failover timer starts (0 means removal right away).
func (m *Master) disconnect(fw *framework) {
	fw.stream = nil
	fw.unregistered = time.Now()
	for _, o := range fw.offers {
		m.removeOffer(o)
	}
	timeout := time.Duration(fw.info.GetFailoverTimeout() * float64(time.Second))
	if timeout <= 0 {
		m.removeFramework(fw, "failover timeout")
		return
	}
	if fw.failover != nil {
		fw.failover.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(timeout, func() {
		m.mu.Lock()
		if fw.failover == t && !fw.connected() && m.frameworks[fw.id] == fw {
			m.removeFramework(fw, "failover timeout")
		}
		m.unlock()
	})
	fw.failover = t
	m.wakeAllocator()
}

// removeFramework tears a framework down: executors shut down (which kills
// its tasks), resources released, stream closed, the ID retired.
func (m *Master) removeFramework(fw *framework, why string) {
	m.log.Info("removing framework", "framework", fw.id, "reason", why)
	if fw.failover != nil {
		fw.failover.Stop()
		fw.failover = nil
	}
	for _, o := range fw.offers {
		m.removeOffer(o)
	}
	fid := mesos.FrameworkID{Value: fw.id}
	for _, a := range m.agentOrder {
		if a.hasFramework(fw.id) && !a.gone {
			l := a.link
			m.later(l, func() { l.ShutdownFramework(fid) })
		}
	}
	for _, t := range fw.tasks {
		m.releaseTask(t)
		if !link.IsTerminal(t.info.GetState()) {
			t.info.State = mesos.TASK_KILLED.Enum()
		}
		m.completeTask(fw, t)
	}
	for k, e := range fw.executors {
		m.releaseExecutor(e)
		delete(fw.executors, k)
	}
	if fw.stream != nil {
		fw.stream.close()
		fw.stream = nil
	}
	fw.removedAt = time.Now()
	delete(m.frameworks, fw.id)
	for i, f := range m.fwOrder {
		if f == fw {
			m.fwOrder = append(m.fwOrder[:i], m.fwOrder[i+1:]...)
			break
		}
	}
	m.removed[fw.id] = fw
	m.completed = append(m.completed, fw)
	if n := len(m.completed) - m.cfg.MaxCompletedFrameworks; n > 0 {
		// Frameworks leaving the bounded list keep only their ID, so a
		// re-subscription is still refused ("Framework has been removed").
		for _, old := range m.completed[:n] {
			m.removed[old.id] = &framework{id: old.id, removedAt: old.removedAt}
		}
		m.completed = append(m.completed[:0:0], m.completed[n:]...)
	}
	m.wakeAllocator()
}

func (m *Master) decline(fw *framework, ids []mesos.OfferID, filters *mesos.Filters) {
	m.stats.declines++
	for _, id := range ids {
		o := fw.offers[id.Value]
		if o == nil {
			continue
		}
		m.removeOffer(o)
		m.refuse(fw, o.role, o.agent, o.resources, filters)
	}
	m.wakeAllocator()
}

func (m *Master) revive(fw *framework, rs []string) {
	m.stats.revives++
	if len(rs) == 0 {
		rs = fw.roles
	}
	for _, r := range rs {
		if !fw.hasRole(r) {
			return // Mesos drops the whole call
		}
	}
	for _, r := range rs {
		delete(fw.suppressed, r)
		for k := range fw.filters {
			if k.role == r {
				delete(fw.filters, k)
			}
		}
	}
	m.wakeAllocator()
}

func (m *Master) suppress(fw *framework, rs []string) {
	m.stats.suppresses++
	if len(rs) == 0 {
		rs = fw.roles
	}
	for _, r := range rs {
		if !fw.hasRole(r) {
			return
		}
	}
	for _, r := range rs {
		fw.suppressed[r] = true
	}
}

func (m *Master) kill(fw *framework, k *scheduler.Call_Kill) {
	m.stats.kills++
	t := fw.tasks[k.TaskID.Value]
	if t != nil && link.IsTerminal(t.info.GetState()) || t == nil && fw.wasCompleted(k.TaskID.Value) {
		m.stats.killsOfTerminal++
	}
	if t == nil || t.agent == nil {
		st := m.reconcileUnknown(fw, k.TaskID, k.AgentID, "Reconciliation: Task is unknown")
		fw.send(updateEvent(st))
		return
	}
	if t.agent.gone {
		return // retried when the agent re-registers: not modelled
	}
	l, fid, tid, pol := t.agent.link, mesos.FrameworkID{Value: fw.id}, k.TaskID, k.KillPolicy
	m.later(l, func() { l.Kill(fid, tid, pol) })
}

func (m *Master) acknowledge(fw *framework, ack *scheduler.Call_Acknowledge) {
	m.stats.acks++
	t := fw.tasks[ack.TaskID.Value]
	a := m.agents[ack.AgentID.Value]
	switch {
	case t == nil && fw.wasCompleted(ack.TaskID.Value), t != nil && t.acked[string(ack.UUID)]:
		m.stats.unexpectedAcks++
	case t != nil && a != nil && !a.gone:
		if t.acked == nil {
			t.acked = map[string]bool{}
		}
		t.acked[string(ack.UUID)] = true
	}
	if t != nil && string(t.lastUUID) == string(ack.UUID) && link.IsTerminal(t.lastState) {
		m.completeTask(fw, t)
	}
	if a == nil || a.gone {
		return
	}
	l, fid, tid, u := a.link, mesos.FrameworkID{Value: fw.id}, ack.TaskID, ack.UUID
	m.later(l, func() { l.Acknowledge(fid, tid, u) })
}

func updateEvent(st mesos.TaskStatus) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: st}}
}

// masterStatus is a status made by the master (no uuid).
func masterStatus(taskID mesos.TaskID, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string, agentID *mesos.AgentID) mesos.TaskStatus {
	ts := nowSeconds()
	return mesos.TaskStatus{
		TaskID: taskID, State: state.Enum(), Source: mesos.SOURCE_MASTER.Enum(), Reason: reason.Enum(),
		Message: &msg, AgentID: agentID, Timestamp: &ts,
	}
}

// reconcileUnknown answers for a task the master does not know (§4.4, §8.3).
func (m *Master) reconcileUnknown(fw *framework, taskID mesos.TaskID, agentID *mesos.AgentID, msg string) mesos.TaskStatus {
	state := mesos.TASK_UNKNOWN
	if agentID != nil {
		if a := m.agents[agentID.Value]; a != nil {
			switch {
			case a.markedGone:
				state = mesos.TASK_GONE_BY_OPERATOR
			case a.gone:
				state = mesos.TASK_UNREACHABLE
			default:
				state = mesos.TASK_GONE
			}
		}
	}
	st := masterStatus(taskID, fw.lostState(state), mesos.REASON_RECONCILIATION, msg, agentID)
	if state == mesos.TASK_UNREACHABLE && fw.partitionAware {
		if a := m.agents[agentID.Value]; a != nil {
			st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: a.unreachable.UnixNano()}
		}
	}
	return st
}

func (m *Master) reconcile(fw *framework, tasks []scheduler.Call_Reconcile_Task) {
	m.stats.reconciles++
	if len(tasks) == 0 {
		for _, t := range fw.tasks {
			fw.send(updateEvent(m.reconcileKnown(fw, t)))
		}
		return
	}
	for _, rt := range tasks {
		if t := fw.tasks[rt.TaskID.Value]; t != nil {
			fw.send(updateEvent(m.reconcileKnown(fw, t)))
			continue
		}
		fw.send(updateEvent(m.reconcileUnknown(fw, rt.TaskID, rt.AgentID, "Reconciliation: Task is unknown")))
	}
}

func (m *Master) reconcileKnown(fw *framework, t *task) mesos.TaskStatus {
	state := t.info.GetState()
	if t.agent != nil && t.agent.gone && !link.IsTerminal(state) {
		state = fw.lostState(mesos.TASK_UNREACHABLE)
	}
	aid := t.info.AgentID
	st := masterStatus(t.info.TaskID, state, mesos.REASON_RECONCILIATION, "Reconciliation: Latest task state", &aid)
	st.ExecutorID = t.info.ExecutorID
	if n := len(t.info.Statuses); n > 0 {
		last := t.info.Statuses[n-1]
		st.Healthy = last.Healthy
		st.ContainerStatus = last.ContainerStatus
	}
	return st
}

// updateFramework is UPDATE_FRAMEWORK: 200, or 400 for invalid info.
func (m *Master) updateFramework(fw *framework, u *scheduler.Call_UpdateFramework) error {
	info := u.FrameworkInfo
	if info.GetID().GetValue() != fw.id {
		return wire.Errorf(http.StatusBadRequest, "'framework_info.id' must equal 'framework_id'")
	}
	if err := validateFrameworkInfo(&info); err != nil {
		return wire.Errorf(http.StatusBadRequest, "%s", err)
	}
	if info.User != fw.info.User || info.GetPrincipal() != fw.info.GetPrincipal() || info.GetCheckpoint() != fw.info.GetCheckpoint() {
		return wire.Errorf(http.StatusBadRequest, "Updating 'FrameworkInfo.user', 'principal' or 'checkpoint' is unsupported")
	}
	old := fw.roles
	fw.setInfo(info)
	for _, r := range old {
		if !fw.hasRole(r) {
			for _, o := range fw.offers {
				if o.role == r {
					m.rescind(o)
				}
			}
			delete(fw.suppressed, r)
		}
	}
	fw.suppressed = map[string]bool{}
	for _, r := range u.SuppressedRoles {
		fw.suppressed[r] = true
	}
	for _, a := range m.agentOrder {
		if !a.gone && a.hasFramework(fw.id) {
			l, fi := a.link, info
			m.later(l, func() { l.UpdateFramework(fi) })
		}
	}
	m.wakeAllocator()
	return nil
}

// authOn reports whether HTTP basic authentication is required.
func (m *Master) authOn() bool { return len(m.cfg.Credentials) > 0 }

// authenticate checks basic auth when it is on, answering 401 otherwise.
func (m *Master) authenticate(w http.ResponseWriter, r *http.Request, realm string) bool {
	if !m.authOn() {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if ok {
		if want, known := m.cfg.Credentials[user]; known && want == pass {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	wire.WriteError(w, wire.Errorf(http.StatusUnauthorized, "Unauthorized"))
	return false
}

func authPrincipal(r *http.Request) string {
	u, _, ok := r.BasicAuth()
	if !ok {
		return ""
	}
	return strings.TrimSpace(u)
}
