package master

import (
	"encoding/json"
	"net/http"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func unixSecs(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// Metrics returns the flat metrics snapshot (master/* names of Mesos).
func (m *Master) Metrics() map[string]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	out := map[string]float64{
		"master/elected":     1,
		"master/uptime_secs": time.Since(m.start).Seconds(),
	}
	var active, connected, disconnected, inactive float64
	for _, fw := range m.frameworks {
		if fw.connected() {
			active++
			connected++
		} else {
			disconnected++
			inactive++
		}
	}
	out["master/frameworks_active"] = active
	out["master/frameworks_connected"] = connected
	out["master/frameworks_disconnected"] = disconnected
	out["master/frameworks_inactive"] = inactive
	var slaves, unreachable float64
	var total, used mesos.Resources
	states := map[mesos.TaskState]float64{}
	for _, a := range m.agentOrder {
		if a.gone {
			unreachable++
		} else {
			slaves++
			total.Add(a.total...)
		}
		for _, t := range a.tasks {
			states[t.info.GetState()]++
		}
		used.Add(a.allocated()...)
	}
	for st, n := range m.stats.completed {
		states[st] += n
	}
	out["master/slaves_active"] = slaves
	out["master/slaves_connected"] = slaves
	out["master/slaves_disconnected"] = 0
	out["master/slaves_inactive"] = 0
	out["master/slaves_unreachable"] = unreachable
	names := map[string]mesos.TaskState{
		"staging": mesos.TASK_STAGING, "starting": mesos.TASK_STARTING, "running": mesos.TASK_RUNNING,
		"killing": mesos.TASK_KILLING, "finished": mesos.TASK_FINISHED, "failed": mesos.TASK_FAILED,
		"killed": mesos.TASK_KILLED, "lost": mesos.TASK_LOST, "error": mesos.TASK_ERROR,
		"dropped": mesos.TASK_DROPPED, "unreachable": mesos.TASK_UNREACHABLE, "gone": mesos.TASK_GONE,
		"gone_by_operator": mesos.TASK_GONE_BY_OPERATOR,
	}
	for n, st := range names {
		out["master/tasks_"+n] = states[st]
	}
	// Master-made rejections of launches count too (§8.3).
	out["master/tasks_lost"] += float64(s.tasksLost)
	out["master/tasks_dropped"] += float64(s.tasksDropped)
	out["master/tasks_error"] += float64(s.tasksError)
	out["master/outstanding_offers"] = float64(len(m.offers))
	out["master/messages_launch_tasks"] = float64(s.launched)
	out["master/messages_decline_offers"] = float64(s.declines)
	out["master/messages_revive_offers"] = float64(s.revives)
	out["master/messages_suppress_offers"] = float64(s.suppresses)
	out["master/messages_kill_task"] = float64(s.kills)
	out["master/messages_status_update"] = float64(s.statusUpdates)
	out["master/messages_status_update_acknowledgement"] = float64(s.acks)
	out["master/messages_reconcile_tasks"] = float64(s.reconciles)
	out["master/messages_register_framework"] = float64(s.registers)
	out["master/messages_reregister_framework"] = float64(s.reregisters)
	out["master/valid_status_updates"] = float64(s.statusUpdates)
	out["master/invalid_status_updates"] = float64(s.invalidUpdates)
	out["master/valid_status_update_acknowledgements"] = float64(s.acks)
	out["master/invalid_status_update_acknowledgements"] = 0
	// Not Mesos metrics: what a framework should never cause.
	out["localmesos/kills_of_terminal_tasks"] = float64(s.killsOfTerminal)
	out["localmesos/unexpected_status_update_acknowledgements"] = float64(s.unexpectedAcks)
	out["allocator/mesos/allocation_runs"] = float64(s.allocationRuns)
	for _, n := range []string{"cpus", "mem", "disk", "gpus"} {
		t, u := scalar(total, n), scalar(used, n)
		out["master/"+n+"_total"] = t
		out["master/"+n+"_used"] = u
		p := 0.0
		if t > 0 {
			p = u / t
		}
		out["master/"+n+"_percent"] = p
	}
	return out
}

// serveMetrics is GET /metrics/snapshot.
func (m *Master) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m.Metrics())
}
