package placement

import (
	"sort"
	"time"
)

// Victim is a running instance that preemption may kill.
type Victim struct {
	Key       string
	Group     string
	Hostname  string
	Priority  int
	Resources Resources
	Started   time.Time
}

// HostRoom is what a host has free for the framework now (an open offer's
// remainder; zero when unknown).
type HostRoom struct {
	Hostname string
	Free     Resources
}

// Preemption is the plan for one ask: kill Victims on Hostname, then place
// the ask there when the resources come back. The victims are requeued
// without consuming a retry.
type Preemption struct {
	Hostname string
	Victims  []Victim
	// WorkLost is the summed running time of the victims at now.
	WorkLost time.Duration
}

// PlanPreemption chooses lower-priority running instances to preempt so
// that ask fits: on each host where feasible says the ask may run, victims
// of strictly lower priority are taken shortest-running first until the
// ask fits, then any victim not needed is dropped (longest-running first),
// so no smaller subset of the chosen ones would do. The host losing the
// least work wins (then fewer victims, then hostname). ok is false when no
// host can make room.
func PlanPreemption(ask *Ask, now time.Time, hosts []HostRoom, running []Victim, feasible func(hostname string) bool) (Preemption, bool) {
	byHost := map[string][]Victim{}
	for _, v := range running {
		if v.Priority < ask.Priority {
			byHost[v.Hostname] = append(byHost[v.Hostname], v)
		}
	}
	free := map[string]Resources{}
	for _, h := range hosts {
		free[h.Hostname] = free[h.Hostname].Add(h.Free)
	}
	names := make([]string, 0, len(byHost))
	for h := range byHost {
		names = append(names, h)
	}
	sort.Strings(names)
	var best Preemption
	found := false
	for _, h := range names {
		if feasible != nil && !feasible(h) {
			continue
		}
		p, ok := planHost(ask.Resources, now, h, free[h], byHost[h])
		if !ok {
			continue
		}
		if !found || p.WorkLost < best.WorkLost || p.WorkLost == best.WorkLost && len(p.Victims) < len(best.Victims) {
			best, found = p, true
		}
	}
	return best, found
}

func planHost(need Resources, now time.Time, host string, free Resources, cands []Victim) (Preemption, bool) {
	if free.Covers(need) {
		return Preemption{}, false // nothing to preempt here; placement should succeed
	}
	// Shortest running (latest start) first; ties by lower priority, key.
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if !a.Started.Equal(b.Started) {
			return a.Started.After(b.Started)
		}
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Key < b.Key
	})
	got := free
	n := 0
	for n < len(cands) && !got.Covers(need) {
		got = got.Add(cands[n].Resources)
		n++
	}
	if !got.Covers(need) {
		return Preemption{}, false
	}
	chosen := append([]Victim(nil), cands[:n]...)
	// Drop victims that are not needed, most work first.
	for i := len(chosen) - 1; i >= 0; i-- {
		if got.Sub(chosen[i].Resources).Covers(need) {
			got = got.Sub(chosen[i].Resources)
			chosen = append(chosen[:i], chosen[i+1:]...)
		}
	}
	p := Preemption{Hostname: host, Victims: chosen}
	for _, v := range chosen {
		if d := now.Sub(v.Started); d > 0 {
			p.WorkLost += d
		}
	}
	return p, true
}
