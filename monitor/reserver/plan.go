package reserver

import (
	"math"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/master"

	"github.com/gleaner-project/gleaner/monitor/policy"
)

// Granularity of what the monitor reserves: Mesos keeps three decimals;
// the monitor moves cpus in hundredths and memory in whole MB.
const (
	cpuGrain = 0.01
	memGrain = 1.0
)

// State is what the master says about the agent, for one role.
type State struct {
	AgentID  string
	Hostname string
	// Total is everything the agent has (reserved or not).
	Total policy.Resources
	// Reserved is the dynamic reservation for the role.
	Reserved policy.Resources
	// Allocated is the part of Reserved offered to no one but in use
	// (allocated to tasks and executors): it cannot be unreserved.
	Allocated policy.Resources
	// FreeUnreserved is unreserved and not allocated: it can be reserved
	// (outstanding offers are rescinded by the master).
	FreeUnreserved policy.Resources
	// entries are the reserved resources as listed, to unreserve from.
	entries []mesos.Resource
}

// Kind of a reservation operation.
type Kind int

// The two operations.
const (
	Reserve Kind = iota
	Unreserve
)

func (k Kind) String() string {
	if k == Reserve {
		return "reserve"
	}
	return "unreserve"
}

// Op is one RESERVE_RESOURCES or UNRESERVE_RESOURCES call for one resource.
type Op struct {
	Kind   Kind
	Name   string // cpus or mem
	Amount float64
	// Partial: less than the difference, because the rest is in use.
	Partial bool
}

// Plan returns the operations that move the reservation towards target:
// grow by at most what is free and unreserved, shrink by at most what is
// reserved and unallocated. Amounts are rounded to the granularity, never
// past the target. It is pure.
func Plan(st State, target policy.Resources) []Op {
	var ops []Op
	for _, r := range []struct {
		name                           string
		grain, target, reserved, alloc float64
		free                           float64
	}{
		{"cpus", cpuGrain, target.CPUs, st.Reserved.CPUs, st.Allocated.CPUs, st.FreeUnreserved.CPUs},
		{"mem", memGrain, target.MemMB, st.Reserved.MemMB, st.Allocated.MemMB, st.FreeUnreserved.MemMB},
	} {
		want := floorTo(math.Max(r.target, 0), r.grain)
		diff := want - r.reserved
		switch {
		case diff >= r.grain-1e-9:
			amt := floorTo(math.Min(diff, r.free), r.grain)
			if amt >= r.grain-1e-9 {
				ops = append(ops, Op{Kind: Reserve, Name: r.name, Amount: amt, Partial: amt < floorTo(diff, r.grain)-1e-9})
			}
		case -diff >= r.grain-1e-9 || (want == 0 && r.reserved > 0):
			shrink := -diff
			unused := math.Max(r.reserved-r.alloc, 0)
			amt := math.Min(shrink, unused)
			if amt < shrink {
				amt = floorTo(amt, r.grain)
			}
			if amt > 1e-9 {
				ops = append(ops, Op{Kind: Unreserve, Name: r.name, Amount: amt, Partial: amt < shrink-1e-9})
			}
		}
	}
	return ops
}

// floorTo rounds v down to a multiple of grain (with a tolerance for
// floating point noise).
func floorTo(v, grain float64) float64 {
	return math.Floor(v/grain+1e-6) * grain
}

// stateFrom extracts the State of the agent with hostname from GET_AGENTS.
// ok is false when no active agent has that hostname.
func stateFrom(resp *master.Response_GetAgents, hostname, role string) (State, bool) {
	if resp == nil {
		return State{}, false
	}
	var found *master.Response_GetAgents_Agent
	for i := range resp.Agents {
		a := &resp.Agents[i]
		if a.AgentInfo.GetHostname() != hostname {
			continue
		}
		if found == nil || (a.Active && !found.Active) {
			found = a
		}
	}
	if found == nil {
		return State{}, false
	}
	st := State{AgentID: found.AgentInfo.GetID().GetValue(), Hostname: hostname}
	var unreservedTotal, unreservedAlloc policy.Resources
	for _, r := range found.TotalResources {
		add(&st.Total, r)
		switch {
		case r.IsUnreserved():
			add(&unreservedTotal, r)
		case ours(r, role):
			add(&st.Reserved, r)
			st.entries = append(st.entries, r)
		}
	}
	for _, r := range found.AllocatedResources {
		switch {
		case r.IsUnreserved():
			add(&unreservedAlloc, r)
		case ours(r, role):
			add(&st.Allocated, r)
		}
	}
	st.Allocated.CPUs = math.Min(st.Allocated.CPUs, st.Reserved.CPUs)
	st.Allocated.MemMB = math.Min(st.Allocated.MemMB, st.Reserved.MemMB)
	st.FreeUnreserved = policy.Resources{
		CPUs:  math.Max(unreservedTotal.CPUs-unreservedAlloc.CPUs, 0),
		MemMB: math.Max(unreservedTotal.MemMB-unreservedAlloc.MemMB, 0),
	}
	return st, true
}

// ours: dynamically reserved for role as the current (last) reservation.
func ours(r mesos.Resource, role string) bool {
	if !r.IsReserved(role) {
		return false
	}
	if rs := r.GetReservations(); len(rs) > 0 {
		return rs[len(rs)-1].GetType() == mesos.Resource_ReservationInfo_DYNAMIC
	}
	return r.GetReservation() != nil
}

func add(to *policy.Resources, r mesos.Resource) {
	if r.GetType() != mesos.SCALAR || r.Scalar == nil {
		return
	}
	switch r.Name {
	case "cpus":
		to.CPUs += r.Scalar.Value
	case "mem":
		to.MemMB += r.Scalar.Value
	}
}
