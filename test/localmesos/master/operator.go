package master

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/master"

	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// serveOperator is POST /api/v1, the v1 operator API.
func (m *Master) serveOperator(w http.ResponseWriter, r *http.Request) {
	if !m.authenticate(w, r, "mesos-master-readwrite") {
		return
	}
	var call master.Call
	req, err := wire.ReadCall(r, &call)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	if call.Type == master.Call_UNKNOWN {
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Failed to validate master::Call: Expecting 'type' to be present"))
		return
	}
	if !req.AcceptOK() { // after validation, before any call runs, as in Mesos
		wire.WriteError(w, wire.Errorf(http.StatusNotAcceptable, "%s", wire.NotAcceptableMessage))
		return
	}
	respond := func(resp *master.Response) {
		if !req.AcceptOK() {
			wire.WriteError(w, wire.Errorf(http.StatusNotAcceptable, "%s", wire.NotAcceptableMessage))
			return
		}
		wire.WriteMessage(w, req.ResponseCodec, resp)
	}
	switch call.Type {
	case master.Call_GET_HEALTH:
		respond(&master.Response{Type: master.Response_GET_HEALTH, GetHealth: &master.Response_GetHealth{Healthy: true}})
	case master.Call_GET_VERSION:
		respond(&master.Response{Type: master.Response_GET_VERSION, GetVersion: &master.Response_GetVersion{
			VersionInfo: mesos.VersionInfo{Version: Version}}})
	case master.Call_GET_FLAGS:
		respond(&master.Response{Type: master.Response_GET_FLAGS, GetFlags: &master.Response_GetFlags{Flags: m.flags()}})
	case master.Call_GET_METRICS:
		var ms []mesos.Metric
		snap := m.Metrics()
		names := make([]string, 0, len(snap))
		for k := range snap {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := snap[k]
			ms = append(ms, mesos.Metric{Name: k, Value: &v})
		}
		respond(&master.Response{Type: master.Response_GET_METRICS, GetMetrics: &master.Response_GetMetrics{Metrics: ms}})
	case master.Call_GET_STATE:
		m.respondLocked(respond, func() *master.Response {
			return &master.Response{Type: master.Response_GET_STATE, GetState: &master.Response_GetState{
				GetTasks: m.getTasks(), GetExecutors: m.getExecutors(), GetFrameworks: m.getFrameworks(), GetAgents: m.getAgents()}}
		})
	case master.Call_GET_AGENTS:
		m.respondLocked(respond, func() *master.Response {
			return &master.Response{Type: master.Response_GET_AGENTS, GetAgents: m.getAgents()}
		})
	case master.Call_GET_FRAMEWORKS:
		m.respondLocked(respond, func() *master.Response {
			return &master.Response{Type: master.Response_GET_FRAMEWORKS, GetFrameworks: m.getFrameworks()}
		})
	case master.Call_GET_TASKS:
		m.respondLocked(respond, func() *master.Response {
			return &master.Response{Type: master.Response_GET_TASKS, GetTasks: m.getTasks()}
		})
	case master.Call_GET_EXECUTORS:
		m.respondLocked(respond, func() *master.Response {
			return &master.Response{Type: master.Response_GET_EXECUTORS, GetExecutors: m.getExecutors()}
		})
	case master.Call_GET_ROLES:
		m.respondLocked(respond, func() *master.Response {
			return &master.Response{Type: master.Response_GET_ROLES, GetRoles: m.getRoles()}
		})
	case master.Call_GET_MASTER:
		mi := m.info
		st := float64(m.start.UnixNano()) / 1e9
		respond(&master.Response{Type: master.Response_GET_MASTER, GetMaster: &master.Response_GetMaster{MasterInfo: &mi, StartTime: &st, ElectedTime: &st}})
	case master.Call_RESERVE_RESOURCES:
		if call.ReserveResources == nil {
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Failed to validate master::Call: Expecting 'reserve_resources' to be present"))
			return
		}
		rr := call.ReserveResources
		m.answerNoData(w, m.operatorReserve(rr.AgentID.Value, rr.Resources, rr.Source, authPrincipal(r)))
	case master.Call_UNRESERVE_RESOURCES:
		if call.UnreserveResources == nil {
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Failed to validate master::Call: Expecting 'unreserve_resources' to be present"))
			return
		}
		ur := call.UnreserveResources
		m.answerNoData(w, m.operatorUnreserve(ur.AgentID.Value, ur.Resources, authPrincipal(r)))
	case master.Call_TEARDOWN:
		if call.Teardown == nil {
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Failed to validate master::Call: Expecting 'teardown' to be present"))
			return
		}
		m.mu.Lock()
		fw := m.frameworks[call.Teardown.FrameworkID.Value]
		if fw == nil {
			m.mu.Unlock()
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "No framework found with specified ID"))
			return
		}
		m.removeFramework(fw, "operator teardown")
		m.unlock()
		w.WriteHeader(http.StatusOK)
	case master.Call_MARK_AGENT_GONE:
		if call.MarkAgentGone == nil {
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Failed to validate master::Call: Expecting 'mark_agent_gone' to be present"))
			return
		}
		m.mu.Lock()
		a := m.agents[call.MarkAgentGone.AgentID.Value]
		if a == nil {
			m.mu.Unlock()
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Agent %s not found", call.MarkAgentGone.AgentID.Value))
			return
		}
		if !a.markedGone {
			a.markedGone = true
			if !a.gone {
				m.removeAgent(a, mesos.TASK_GONE_BY_OPERATOR, mesos.REASON_AGENT_REMOVED_BY_OPERATOR, "Agent has been marked gone")
			}
		}
		m.unlock()
		w.WriteHeader(http.StatusOK)
	default:
		wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Unsupported call type %s", call.Type))
	}
}

// respondLocked builds a response under mu and sends it after unlocking.
// The response is deep-copied first: it shares slices (task statuses, agent
// infos) that the master keeps changing.
func (m *Master) respondLocked(respond func(*master.Response), build func() *master.Response) {
	m.mu.Lock()
	r := proto.Clone(build()).(*master.Response)
	m.mu.Unlock()
	respond(r)
}

// answerNoData answers a bodiless operator call: 202 or the error.
func (m *Master) answerNoData(w http.ResponseWriter, err error) {
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (m *Master) flags() []mesos.Flag {
	f := func(k, v string) mesos.Flag { return mesos.Flag{Name: k, Value: &v} }
	return []mesos.Flag{
		f("allocation_interval", fmt.Sprintf("%gsecs", m.cfg.AllocationInterval.Seconds())),
		f("authenticate_http_frameworks", fmt.Sprint(m.authOn())),
		f("authenticate_http_readwrite", fmt.Sprint(m.authOn())),
		f("hostname", m.cfg.Hostname),
	}
}

// operatorReserve is RESERVE_RESOURCES (also /master/reserve): 202, 400 for
// bad input or an unknown agent, 409 when the agent lacks the resources even
// after rescinding its offers.
func (m *Master) operatorReserve(agentID string, rs, source []mesos.Resource, principal string) error {
	to, err := operatorResources(rs)
	if err != nil {
		return wire.Errorf(http.StatusBadRequest, "Invalid resources: %v", err)
	}
	var from mesos.Resources
	if len(source) > 0 {
		if from, err = operatorResources(source); err != nil {
			return wire.Errorf(http.StatusBadRequest, "Invalid source: %v", err)
		}
	} else {
		if err := checkReserve(to, ""); err != nil {
			return wire.Errorf(http.StatusBadRequest, "Invalid reservation: %v", err)
		}
		from = popAll(to)
	}
	if m.authOn() {
		for _, r := range to {
			last := r.Reservations[len(r.Reservations)-1]
			if last.GetPrincipal() != principal {
				return wire.Errorf(http.StatusBadRequest, "A reserve operation was attempted with principal %q, which does not match the authenticated principal %q", last.GetPrincipal(), principal)
			}
		}
	}
	return m.convertOnAgent(agentID, from, to)
}

func (m *Master) operatorUnreserve(agentID string, rs []mesos.Resource, principal string) error {
	from, err := operatorResources(rs)
	if err != nil {
		return wire.Errorf(http.StatusBadRequest, "Invalid resources: %v", err)
	}
	if err := checkUnreserve(from); err != nil {
		return wire.Errorf(http.StatusBadRequest, "Invalid unreservation: %v", err)
	}
	return m.convertOnAgent(agentID, from, popAll(from))
}

// operatorResources normalizes resources given to the operator API, which
// must not carry allocation_info.
func operatorResources(rs []mesos.Resource) (mesos.Resources, error) {
	for _, r := range rs {
		if r.AllocationInfo != nil {
			return nil, fmt.Errorf("resource %s must not have 'allocation_info'", r.Name)
		}
	}
	return normalizeAll(rs)
}

// convertOnAgent rescinds offers on the agent until its available resources
// contain from, then replaces from with to (in available and total).
func (m *Master) convertOnAgent(agentID string, from, to mesos.Resources) error {
	m.mu.Lock()
	defer m.unlock()
	a := m.agents[agentID]
	if a == nil || a.gone {
		return wire.Errorf(http.StatusBadRequest, "No agent found with specified ID")
	}
	if !contains(a.available, from) {
		ids := make([]string, 0, len(a.offers))
		for id := range a.offers {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			o := a.offers[id]
			m.rescind(o)
			m.refuse(o.fw, o.role, a, o.resources, nil)
			if contains(a.available, from) {
				break
			}
		}
	}
	if !applyConversion(&a.available, from, to) {
		return wire.Errorf(http.StatusConflict, "Insufficient resources: the agent's available resources do not contain %s", from)
	}
	applyConversion(&a.total, from, to)
	a.info.Resources = forFramework(a.total, "", false, true)
	m.wakeAllocator()
	return nil
}

// serveLegacyReserve is POST /master/reserve and /master/unreserve with a
// form body: slaveId, resources (JSON array), and for reserve source.
func (m *Master) serveLegacyReserve(reserve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			wire.WriteError(w, wire.Errorf(http.StatusMethodNotAllowed, "Expecting one of { 'POST' }, but received '%s'", r.Method))
			return
		}
		if !m.authenticate(w, r, "mesos-master-readwrite") {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Unable to decode query string: %v", err))
			return
		}
		agentID := r.PostForm.Get("slaveId")
		if agentID == "" {
			wire.WriteError(w, wire.Errorf(http.StatusBadRequest, "Missing 'slaveId' query parameter in the request body"))
			return
		}
		parse := func(key string, required bool) ([]mesos.Resource, error) {
			v := r.PostForm.Get(key)
			if v == "" {
				if required {
					return nil, wire.Errorf(http.StatusBadRequest, "Missing '%s' query parameter in the request body", key)
				}
				return nil, nil
			}
			var rs []mesos.Resource
			if err := json.Unmarshal([]byte(v), &rs); err != nil {
				return nil, wire.Errorf(http.StatusBadRequest, "Error in parsing '%s' query parameter in the request body: %v", key, err)
			}
			return rs, nil
		}
		rs, err := parse("resources", true)
		if err != nil {
			wire.WriteError(w, err)
			return
		}
		if reserve {
			src, err := parse("source", false)
			if err != nil {
				wire.WriteError(w, err)
				return
			}
			m.answerNoData(w, m.operatorReserve(agentID, rs, src, authPrincipal(r)))
			return
		}
		m.answerNoData(w, m.operatorUnreserve(agentID, rs, authPrincipal(r)))
	}
}

func timeInfo(t time.Time) *mesos.TimeInfo {
	if t.IsZero() {
		return nil
	}
	return &mesos.TimeInfo{Nanoseconds: t.UnixNano()}
}

func (m *Master) getAgents() *master.Response_GetAgents {
	out := &master.Response_GetAgents{}
	for _, a := range m.agentOrder {
		if a.gone {
			continue
		}
		allocated, offered := a.allocated(), a.offered()
		pid := fmt.Sprintf("slave(1)@%s:%d", a.address(), a.info.GetPort())
		out.Agents = append(out.Agents, master.Response_GetAgents_Agent{
			AgentInfo: a.info, Active: true, Version: Version, PID: &pid,
			RegisteredTime: timeInfo(a.registered), ReregisteredTime: timeInfo(a.reregisterd),
			TotalResources:     bothFormats(a.total),
			AllocatedResources: bothFormats(allocated),
			OfferedResources:   bothFormats(offered),
		})
	}
	return out
}

func (m *Master) frameworkEntry(fw *framework) master.Response_GetFrameworks_Framework {
	var offers []mesos.Offer
	var offered, allocated mesos.Resources
	for _, o := range fw.offers {
		offers = append(offers, m.renderOffer(o))
		offered.Add(o.resources...)
	}
	for _, t := range fw.tasks {
		if !t.released {
			allocated.Add(t.resources...)
		}
	}
	return master.Response_GetFrameworks_Framework{
		FrameworkInfo: fw.info, Active: fw.connected(), Connected: fw.connected(), Recovered: fw.recovered,
		RegisteredTime: timeInfo(fw.registered), ReregisteredTime: timeInfo(fw.reregistered),
		UnregisteredTime: timeInfo(fw.unregistered), Offers: offers,
		AllocatedResources: bothFormats(allocated), OfferedResources: bothFormats(offered),
	}
}

func (m *Master) getFrameworks() *master.Response_GetFrameworks {
	out := &master.Response_GetFrameworks{}
	for _, id := range m.sortedFrameworkIDs() {
		out.Frameworks = append(out.Frameworks, m.frameworkEntry(m.frameworks[id]))
	}
	for _, fw := range m.completed {
		out.CompletedFrameworks = append(out.CompletedFrameworks, m.frameworkEntry(fw))
	}
	return out
}

func (m *Master) getTasks() *master.Response_GetTasks {
	out := &master.Response_GetTasks{}
	for _, id := range m.sortedFrameworkIDs() {
		fw := m.frameworks[id]
		for _, t := range fw.tasks {
			if t.agent != nil && t.agent.gone && t.info.GetState() == mesos.TASK_UNREACHABLE {
				out.UnreachableTasks = append(out.UnreachableTasks, t.info)
				continue
			}
			out.Tasks = append(out.Tasks, t.info)
		}
		out.CompletedTasks = append(out.CompletedTasks, fw.completed.all()...)
	}
	return out
}

func (m *Master) getExecutors() *master.Response_GetExecutors {
	out := &master.Response_GetExecutors{}
	for _, a := range m.agentOrder {
		for _, e := range a.executors {
			out.Executors = append(out.Executors, master.Response_GetExecutors_Executor{ExecutorInfo: e.info, AgentID: mesos.AgentID{Value: a.id}})
		}
	}
	return out
}

func (m *Master) getRoles() *master.Response_GetRoles {
	type acc struct {
		fws map[string]bool
		res mesos.Resources
	}
	roles := map[string]*acc{"*": {fws: map[string]bool{}}}
	get := func(r string) *acc {
		if roles[r] == nil {
			roles[r] = &acc{fws: map[string]bool{}}
		}
		return roles[r]
	}
	for _, fw := range m.frameworks {
		for _, r := range fw.roles {
			get(r).fws[fw.id] = true
		}
		for _, t := range fw.tasks {
			if !t.released {
				get(t.role).res.Add(t.resources...)
			}
		}
	}
	for _, a := range m.agentOrder {
		for _, r := range a.total {
			if len(r.Reservations) > 0 {
				get(r.ReservationRole())
			}
		}
	}
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	out := &master.Response_GetRoles{}
	for _, n := range names {
		a := roles[n]
		role := mesos.Role{Name: n, Weight: 1, Resources: bothFormats(a.res)}
		ids := make([]string, 0, len(a.fws))
		for id := range a.fws {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			role.Frameworks = append(role.Frameworks, mesos.FrameworkID{Value: id})
		}
		out.Roles = append(out.Roles, role)
	}
	return out
}
