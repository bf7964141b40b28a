package chaos

import (
	"sort"
	"time"
)

// Plan sizes one chaos run.
type Plan struct {
	LeaderKills   int // SIGKILLs of the leading scheduler (each restarted as a standby)
	AgentRestarts int // restarts of one agent of the local Mesos, round robin
	MesosRestarts int // restarts of the whole local Mesos (master and agents)
	EtcdRestarts  int // SIGKILL and restart of etcd
	ArrayJobs     int // jobs with one array task each
	Instances     int // instances of each array task
	DAGWidth      int // instances of each parallel stage of the DAG job
	TaskSleep     string
	// Deadline bounds the whole run, from the first submit to the check.
	Deadline time.Duration
}

// Short runs in make test: under a minute on the 2-core machine.
var Short = Plan{LeaderKills: 3, AgentRestarts: 2, MesosRestarts: 1, EtcdRestarts: 1,
	ArrayJobs: 1, Instances: 150, DAGWidth: 4, TaskSleep: "0.2", Deadline: 75 * time.Second}

// Long is make chaos: about five minutes.
var Long = Plan{LeaderKills: 24, AgentRestarts: 8, MesosRestarts: 2, EtcdRestarts: 1,
	ArrayJobs: 3, Instances: 700, DAGWidth: 20, TaskSleep: "0.3", Deadline: 10 * time.Minute}

// DAGInstances is how many instances the DAG job has: a fan-out of
// DAGWidth, two parallel stages of DAGWidth after it, and one join.
func (p Plan) DAGInstances() int { return 3*p.DAGWidth + 1 }

// TotalInstances is every instance the run submits.
func (p Plan) TotalInstances() int { return p.ArrayJobs*p.Instances + p.DAGInstances() }

// Fault is one kind of fault the run injects.
type Fault int

const (
	LeaderKill Fault = iota
	AgentRestart
	MesosRestart
	EtcdRestart
)

func (f Fault) String() string {
	return [...]string{"leader kill", "agent restart", "mesos restart", "etcd restart"}[f]
}

// Faults orders the plan's faults so each kind is spread evenly over the
// run: the j-th of a kind's n faults belongs at (j+½)/n of the way, and
// faults are taken in that order (the rarer kind first on a tie). Pure.
func (p Plan) Faults() []Fault {
	counts := [...]int{LeaderKill: p.LeaderKills, AgentRestart: p.AgentRestarts, MesosRestart: p.MesosRestarts, EtcdRestart: p.EtcdRestarts}
	type slot struct {
		at    float64
		count int
		kind  Fault
	}
	var slots []slot
	for k, n := range counts {
		for j := 0; j < n; j++ {
			slots = append(slots, slot{at: (float64(j) + 0.5) / float64(n), count: n, kind: Fault(k)})
		}
	}
	sort.SliceStable(slots, func(a, b int) bool {
		if slots[a].at != slots[b].at {
			return slots[a].at < slots[b].at
		}
		return slots[a].count < slots[b].count
	})
	out := make([]Fault, 0, len(slots))
	for _, s := range slots {
		out = append(out, s.kind)
	}
	return out
}
