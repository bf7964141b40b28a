package api

import (
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement/matcher"
)

// Explainer is implemented by a backend that knows why pending instances
// wait (node.Node: the leader's last offer cycle).
type Explainer interface {
	Why(jobID, task string) (matcher.Pending, bool)
}

// JobView is the body of GET /v1/jobs/{id}: the job's status with, per
// task with pending instances, why they wait.
type JobView struct {
	job.Status
	Tasks []TaskView `json:"tasks"`
	// Labels are the job's labels (spec `labels:`).
	Labels map[string]string `json:"labels,omitempty"`
}

// TaskView is one task of a JobView. Why.Code is "unschedulable" (may fit
// later) or "unschedulable-forever" (no known agent could ever take it);
// Why.Reasons count the rejections by name (e.g. "no cpu",
// "constraint zone IS a", "unique taken").
type TaskView struct {
	job.TaskStatus
	Why *matcher.Pending `json:"why,omitempty"`
}

func (s *server) explain(st job.Status) JobView {
	v := JobView{Status: st, Tasks: make([]TaskView, len(st.Tasks))}
	x, _ := s.b.(Explainer)
	for i, t := range st.Tasks {
		v.Tasks[i].TaskStatus = t
		if x == nil || t.Counts.Pending == 0 {
			continue
		}
		if p, ok := x.Why(st.ID, t.Name); ok {
			v.Tasks[i].Why = &p
		}
	}
	return v
}
