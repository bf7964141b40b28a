package api

import (
	"sort"

	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
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
// Why.Reasons count the agents by the reason each turned the task down
// (e.g. "no cpu", "constraint zone IS a", "unique taken").
type TaskView struct {
	job.TaskStatus
	Why *WhyView `json:"why,omitempty"`
}

// WhyView is why a task's instances wait, accounting for every agent the
// scheduler knows: the reasons' counts add up to Agents.
type WhyView struct {
	matcher.Pending
	// Agents is how many agents the scheduler knows (0: not known here;
	// the reasons then cover only the agents of the last offer cycle).
	Agents int `json:"agents,omitempty"`
}

// Reasons that are not one agent's rejection.
const (
	// ReasonNoOfferNow counts the known agents that made no offer in the
	// last offer cycle: their resources are in use (busy), or their offer
	// was declined for a while or is held for other work.
	ReasonNoOfferNow = "no offer now (busy)"
	reasonNoOffers   = "no offers"
)

// AccountAgents completes the matcher's reasons, which count only the
// agents offered in the last cycle, so that they add up to the known
// agents: the agents not seen are counted under ReasonNoOfferNow, and the
// cycle-level "no offers" gives way to them. known <= 0 leaves p as it is.
func AccountAgents(p matcher.Pending, known int) WhyView {
	if known <= 0 {
		return WhyView{Pending: p}
	}
	seen := 0
	out := make([]placement.ReasonCount, 0, len(p.Reasons)+1)
	for _, r := range p.Reasons {
		if r.Reason == reasonNoOffers {
			continue
		}
		seen += r.Count // "split across offers" too: one agent, its room split
		out = append(out, r)
	}
	if unseen := known - seen; unseen > 0 {
		out = append(out, placement.ReasonCount{Reason: ReasonNoOfferNow, Count: unseen})
	} else if unseen < 0 {
		// The agents table lags the offers (an agent offered before
		// it was recorded): count what the reasons say.
		known = seen
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	p.Reasons = out
	return WhyView{Pending: p, Agents: known}
}

func (s *server) explain(st job.Status) JobView {
	v := JobView{Status: st, Tasks: make([]TaskView, len(st.Tasks))}
	x, _ := s.b.(Explainer)
	known := -1
	for i, t := range st.Tasks {
		v.Tasks[i].TaskStatus = t
		if x == nil || t.Counts.Pending+t.Counts.Retrying == 0 {
			continue
		}
		if p, ok := x.Why(st.ID, t.Name); ok {
			if known < 0 {
				known = 0
				if a, ok := s.b.(attrs.AgentSource); ok {
					known = len(a.Agents())
				}
			}
			w := AccountAgents(p, known)
			v.Tasks[i].Why = &w
		}
	}
	return v
}
