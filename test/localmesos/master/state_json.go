package master

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// resourceMap renders resources as /master/state does: scalars by name,
// ranges as "[a-b, c-d]", sets as "{a, b}".
func resourceMap(rs mesos.Resources) map[string]any {
	out := map[string]any{"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
	for _, r := range rs {
		switch r.GetType() {
		case mesos.SCALAR:
			v, _ := out[r.Name].(float64)
			out[r.Name] = v + r.GetScalar().GetValue()
		case mesos.RANGES:
			s := "["
			for i, x := range r.GetRanges().GetRange() {
				if i > 0 {
					s += ", "
				}
				s += fmt.Sprintf("%d-%d", x.Begin, x.End)
			}
			out[r.Name] = s + "]"
		case mesos.SET:
			s := "{"
			for i, x := range r.GetSet().GetItem() {
				if i > 0 {
					s += ", "
				}
				s += x
			}
			out[r.Name] = s + "}"
		}
	}
	return out
}

func taskJSON(t mesos.Task) map[string]any {
	var statuses []map[string]any
	for _, s := range t.Statuses {
		statuses = append(statuses, map[string]any{"state": s.GetState().String(), "timestamp": s.GetTimestamp()})
	}
	rs, _ := normalizeAll(t.Resources)
	out := map[string]any{
		"id": t.TaskID.Value, "name": t.Name, "framework_id": t.FrameworkID.Value,
		"slave_id": t.AgentID.Value, "state": t.GetState().String(),
		"resources": resourceMap(rs), "statuses": statuses,
	}
	if t.ExecutorID != nil {
		out["executor_id"] = t.ExecutorID.Value
	} else {
		out["executor_id"] = ""
	}
	return out
}

// serveState is GET /master/state: JSON in the shape of the real endpoint.
func (m *Master) serveState(w http.ResponseWriter, r *http.Request) {
	if !m.authenticate(w, r, "mesos-master-readonly") {
		return
	}
	m.mu.Lock()
	fwJSON := func(fw *framework) map[string]any {
		var tasks, completed []map[string]any
		var used, offered mesos.Resources
		for _, t := range fw.tasks {
			tasks = append(tasks, taskJSON(t.info))
			if !t.released {
				used.Add(t.resources...)
			}
		}
		for _, t := range fw.completed.all() {
			completed = append(completed, taskJSON(t))
		}
		var offers []map[string]any
		for _, o := range fw.offers {
			offered.Add(o.resources...)
			offers = append(offers, map[string]any{"id": o.id, "framework_id": fw.id, "slave_id": o.agent.id, "resources": resourceMap(o.resources)})
		}
		var caps []string
		for _, c := range fw.info.Capabilities {
			caps = append(caps, c.GetType().String())
		}
		return map[string]any{
			"id": fw.id, "name": fw.info.Name, "user": fw.info.User, "role": fw.info.GetRole(), "roles": fw.roles,
			"principal": fw.info.GetPrincipal(), "hostname": fw.info.GetHostname(), "webui_url": fw.info.GetWebUiURL(),
			"failover_timeout": fw.info.GetFailoverTimeout(), "checkpoint": fw.info.GetCheckpoint(),
			"capabilities": caps, "active": fw.connected(), "connected": fw.connected(), "recovered": fw.recovered,
			"registered_time": unixSecs(fw.registered), "reregistered_time": unixSecs(fw.reregistered),
			"unregistered_time": unixSecs(fw.unregistered),
			"tasks":             nonNil(tasks), "completed_tasks": nonNil(completed), "offers": nonNil(offers),
			"resources": resourceMap(used.Plus(offered...)), "used_resources": resourceMap(used),
			"offered_resources": resourceMap(offered),
		}
	}
	var frameworks, completedFws, slaves []map[string]any
	for _, id := range m.sortedFrameworkIDs() {
		frameworks = append(frameworks, fwJSON(m.frameworks[id]))
	}
	for _, fw := range m.completed {
		completedFws = append(completedFws, fwJSON(fw))
	}
	activated := 0
	for _, a := range m.agentOrder {
		if a.gone {
			continue
		}
		activated++
		used, offered := a.allocated(), a.offered()
		reserved := map[string]mesos.Resources{}
		var unreserved mesos.Resources
		for _, r := range a.total {
			if len(r.Reservations) == 0 {
				unreserved.Add1(r)
				continue
			}
			role := r.ReservationRole()
			rs := reserved[role]
			rs.Add1(r)
			reserved[role] = rs
		}
		reservedMap := map[string]any{}
		reservedFull := map[string]any{}
		roles := make([]string, 0, len(reserved))
		for role := range reserved {
			roles = append(roles, role)
		}
		sort.Strings(roles)
		for _, role := range roles {
			reservedMap[role] = resourceMap(reserved[role])
			reservedFull[role] = bothFormats(reserved[role])
		}
		attrs := map[string]any{}
		for _, at := range a.info.Attributes {
			switch at.GetType() {
			case mesos.SCALAR:
				attrs[at.Name] = at.GetScalar().GetValue()
			case mesos.TEXT:
				attrs[at.Name] = at.GetText().GetValue()
			case mesos.RANGES:
				attrs[at.Name] = resourceMap(mesos.Resources{{Name: "r", Type: mesos.RANGES.Enum(), Ranges: at.Ranges}})["r"]
			}
		}
		slaves = append(slaves, map[string]any{
			"id": a.id, "hostname": a.info.Hostname, "port": a.info.GetPort(),
			"pid":        fmt.Sprintf("slave(1)@%s:%d", a.address(), a.info.GetPort()),
			"attributes": attrs, "active": true, "version": Version,
			"registered_time": unixSecs(a.registered), "reregistered_time": unixSecs(a.reregisterd),
			"resources": resourceMap(a.total), "used_resources": resourceMap(used),
			"offered_resources": resourceMap(offered), "reserved_resources": reservedMap,
			"reserved_resources_full": reservedFull, "unreserved_resources": resourceMap(unreserved),
		})
	}
	state := map[string]any{
		"version": Version, "id": m.id, "pid": m.info.GetPID(), "hostname": m.cfg.Hostname,
		"start_time": unixSecs(m.start), "elected_time": unixSecs(m.start), "leader": m.info.GetPID(),
		"activated_slaves": activated, "deactivated_slaves": 0,
		"frameworks": nonNil(frameworks), "completed_frameworks": nonNil(completedFws),
		"slaves": nonNil(slaves), "unregistered_frameworks": []string{}, "orphan_tasks": []any{},
	}
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(state)
}

func nonNil(x []map[string]any) []map[string]any {
	if x == nil {
		return []map[string]any{}
	}
	return x
}
