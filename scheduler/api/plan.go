package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// A dry-run submit (POST /v1/jobs?dryRun=true, `gleaner job validate`,
// `gleaner job submit --dry-run`) parses and validates the spec as a
// submit does (with the refusals of the scheduler's isolation policy),
// then checks each task against the agents the scheduler
// knows with placement.StaticFit, the rule that makes a pending task
// unschedulable-forever: which tasks could never be placed, and why. It
// stores nothing.

// Plan is the answer to a dry-run submit.
type Plan struct {
	Name  string     `json:"name"`
	Tasks []TaskPlan `json:"tasks"`
	// Agents is how many agents the tasks were checked against.
	Agents int `json:"agents"`
	// Warning says what the check could not see (no agent known yet).
	Warning string `json:"warning,omitempty"`
}

// TaskPlan is one task of a Plan: Feasible when at least one known agent
// could ever take an instance (Agents of them); otherwise Reasons count
// why each agent cannot.
type TaskPlan struct {
	Name      string                  `json:"name"`
	Instances int                     `json:"instances"`
	Feasible  bool                    `json:"feasible"`
	Agents    int                     `json:"feasibleAgents"`
	Reasons   []placement.ReasonCount `json:"reasons,omitempty"`
}

// AgentLister is what a dry run needs from a backend: the agents the
// scheduler knows and their etcd attributes (node.Node has both).
type AgentLister interface {
	Agents() []attrs.AgentInfo
	Attrs() *attrs.Store
}

// SubmitChecker is implemented by a backend that refuses some valid specs
// at submit (node.Node: what its executor cannot isolate); a dry run
// refuses them alike, with the same 400.
type SubmitChecker interface {
	CheckSubmit(sp *job.Spec) error
}

var (
	_ AgentLister   = (*node.Node)(nil)
	_ SubmitChecker = (*node.Node)(nil)
)

// planAgents are the known agents as placement sees them: Mesos
// attributes overlaid with etcd's, capacity their size.
func planAgents(ctx context.Context, l AgentLister) ([]placement.Agent, error) {
	infos := l.Agents()
	var etcd map[string]map[string]string
	if st := l.Attrs(); st != nil {
		var err error
		if etcd, _, err = st.List(ctx); err != nil {
			return nil, fmt.Errorf("read agent attributes: %w", err)
		}
	}
	out := make([]placement.Agent, 0, len(infos))
	for _, in := range infos {
		merged := map[string]string{}
		for k, v := range in.MesosAttrs {
			merged[k] = v
		}
		for k, v := range etcd[in.Hostname] {
			merged[k] = v
		}
		out = append(out, placement.Agent{ID: in.AgentID, Hostname: in.Hostname, Attrs: merged, Capacity: in.Resources})
	}
	return out, nil
}

// PlanSpec checks every task of sp against agents. Pure.
func PlanSpec(sp *job.Spec, agents []placement.Agent) (Plan, error) {
	p := Plan{Name: sp.Name, Agents: len(agents), Tasks: make([]TaskPlan, 0, len(sp.Tasks))}
	if len(agents) == 0 {
		p.Warning = "no agent is known yet (none has offered resources): placement was not checked"
	}
	for i, t := range sp.Tasks {
		cs, err := placement.ParseConstraints(t.Constraints)
		if err != nil {
			return p, fmt.Errorf("tasks[%d].constraints: %w", i, err)
		}
		res := placement.Resources(t.Resources)
		tp := TaskPlan{Name: t.Name, Instances: t.Instances}
		reasons := map[string]int{}
		for k := range agents {
			ag := &agents[k]
			if ag.Capacity.IsZero() {
				// Size unknown (no offer yet): judge the constraints only.
				if fits, failed := placement.StaticFit(cs, placement.Resources{}, ag); !fits {
					reasons[cs.List[failed].Reason()]++
					continue
				}
				tp.Agents++
				continue
			}
			fits, failed := placement.StaticFit(cs, res, ag)
			switch {
			case fits:
				tp.Agents++
			case failed >= 0:
				reasons[cs.List[failed].Reason()]++
			default:
				reasons[capacityReason(ag.Capacity, res)]++
			}
		}
		tp.Feasible = tp.Agents > 0 || len(agents) == 0
		if tp.Agents == 0 {
			for r, n := range reasons {
				tp.Reasons = append(tp.Reasons, placement.ReasonCount{Reason: r, Count: n})
			}
			sort.Slice(tp.Reasons, func(a, b int) bool {
				if tp.Reasons[a].Count != tp.Reasons[b].Count {
					return tp.Reasons[a].Count > tp.Reasons[b].Count
				}
				return tp.Reasons[a].Reason < tp.Reasons[b].Reason
			})
		}
		p.Tasks = append(p.Tasks, tp)
	}
	return p, nil
}

// capacityReason names the first resource an agent is too small for.
func capacityReason(capacity, ask placement.Resources) string {
	switch {
	case capacity.CPUs < ask.CPUs:
		return fmt.Sprintf("agent has %g cpus, task asks %g", capacity.CPUs, ask.CPUs)
	case capacity.Mem < ask.Mem:
		return fmt.Sprintf("agent has %g MiB mem, task asks %g", capacity.Mem, ask.Mem)
	case capacity.Disk < ask.Disk:
		return fmt.Sprintf("agent has %g MiB disk, task asks %g", capacity.Disk, ask.Disk)
	case capacity.GPUs < ask.GPUs:
		return fmt.Sprintf("agent has %g gpus, task asks %g", capacity.GPUs, ask.GPUs)
	}
	return "too small"
}

// plan answers a dry-run submit of a parsed spec.
func (s *server) plan(w http.ResponseWriter, r *http.Request, sp *job.Spec) {
	if c, ok := s.b.(SubmitChecker); ok {
		if err := c.CheckSubmit(sp); err != nil {
			s.backendErr(w, r, err)
			return
		}
	}
	var agents []placement.Agent
	if l, ok := s.b.(AgentLister); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		var err error
		if agents, err = planAgents(ctx, l); err != nil {
			s.backendErr(w, r, err)
			return
		}
	}
	p, err := PlanSpec(sp, agents)
	if err != nil {
		writeErr(w, http.StatusBadRequest, Error{Error: err.Error(), Field: "tasks"})
		return
	}
	writeJSON(w, http.StatusOK, p)
}
