package engine

import (
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// Offer is what a Matcher sees of one Mesos offer: resources usable by the
// framework's role (reserved for it plus unreserved) and the agent.
type Offer struct {
	ID         string
	AgentID    string
	Hostname   string
	Role       string
	Available  job.Resources
	Attributes map[string]string
	// Reserved is the part of Available reserved for the role.
	Reserved job.Resources
	// MonitorSilent: the agent's monitor required but silent; place nothing.
	MonitorSilent bool
}

// Demand is a group of identical pending instances of one task.
type Demand struct {
	Job       string
	Task      string
	Resources job.Resources
	Count     int
	// From the job's spec, for constraint-aware matchers.
	Priority    int
	User, Queue string
	Constraints [][]string
}

// Tracker is implemented by matchers that count where instances run
// (UNIQUE, GROUP_BY, MAX_PER). Match counts what it places; the engine
// reports instances found running at Load, every counted instance that
// stops (ended, or a planned launch forgotten) and jobs that leave.
type Tracker interface {
	Started(jobID, task, hostname string)
	Stopped(jobID, task, hostname string)
	JobDone(jobID string)
}

// Placement puts Count instances of demands[Demand] on offers[Offer].
type Placement struct {
	Offer  int
	Demand int
	Count  int
}

// Matcher decides placements. It must not place more than a demand's Count
// nor more than an offer's Available resources. The node uses the
// constraint-aware scheduler/placement/matcher; FirstFit serves when none is
// given (engine.New(nil)).
type Matcher interface {
	Match(offers []Offer, demands []Demand) []Placement
}

// FirstFit places demands in order, each on the first offers with room,
// consuming offers as it goes.
type FirstFit struct{}

var _ Matcher = FirstFit{}

// Fits reports whether want fits in have, in Mesos' fixed point
// (placement.Resources.Covers, the one fit rule).
func Fits(want, have job.Resources) bool {
	return placement.Resources(have).Covers(placement.Resources(want))
}

// Sub returns have - want.
func Sub(have, want job.Resources) job.Resources {
	return job.Resources{CPUs: have.CPUs - want.CPUs, Mem: have.Mem - want.Mem, Disk: have.Disk - want.Disk, GPUs: have.GPUs - want.GPUs}
}

// Match implements Matcher.
func (FirstFit) Match(offers []Offer, demands []Demand) []Placement {
	left := make([]job.Resources, len(offers))
	for i := range offers {
		left[i] = offers[i].Available
	}
	var out []Placement
	for d := range demands {
		need := demands[d].Count
		r := demands[d].Resources
		for o := 0; o < len(offers) && need > 0; o++ {
			n := 0
			for n < need && Fits(r, left[o]) {
				left[o] = Sub(left[o], r)
				n++
			}
			if n > 0 {
				out = append(out, Placement{Offer: o, Demand: d, Count: n})
				need -= n
			}
		}
	}
	return out
}
