package evict

import (
	"sort"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// Candidate is one batch instance running on the host to free.
type Candidate struct {
	TaskID   string
	Priority int       // the job's priority: lower goes first
	Started  time.Time // zero while launching: nothing is lost yet
	CPUs     float64
	MemMB    float64
}

// Need is what an eviction request asks to free.
type Need struct {
	CPUs  float64
	MemMB float64
}

// freed reports whether cpu and mem meet need, in Mesos' fixed point
// (placement.AtLeast, the rule every resource fit uses).
func freed(cpu, mem float64, need Need) bool {
	return placement.AtLeast(cpu, need.CPUs) && placement.AtLeast(mem, need.MemMB)
}

// Choose picks victims among cands to free need: lowest priority first,
// then least work lost (the shortest running; a launching instance has
// lost nothing), then task id; only as many as needed. A candidate that
// frees nothing still missing is passed over, and a chosen one whose
// removal still leaves the need met is dropped again (the most valuable
// first), so no victim is superfluous. When everything together does not
// free enough, every candidate that helps is chosen.
func Choose(cands []Candidate, need Need, now time.Time) []Candidate {
	order := append([]Candidate(nil), cands...)
	sort.SliceStable(order, func(i, j int) bool { return less(order[i], order[j], now) })
	var chosen []Candidate
	var cpu, mem float64
	for _, c := range order {
		if freed(cpu, mem, need) {
			break
		}
		helps := (!placement.AtLeast(cpu, need.CPUs) && c.CPUs > 0) || (!placement.AtLeast(mem, need.MemMB) && c.MemMB > 0)
		if !helps {
			continue
		}
		chosen = append(chosen, c)
		cpu += c.CPUs
		mem += c.MemMB
	}
	if !freed(cpu, mem, need) {
		return chosen // best effort: all that helps
	}
	// Drop superfluous victims, the most valuable (last chosen) first.
	for i := len(chosen) - 1; i >= 0; i-- {
		c := chosen[i]
		if freed(cpu-c.CPUs, mem-c.MemMB, need) {
			cpu -= c.CPUs
			mem -= c.MemMB
			chosen = append(chosen[:i], chosen[i+1:]...)
		}
	}
	return chosen
}

// less orders candidates by eviction preference.
func less(a, b Candidate, now time.Time) bool {
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	ra, rb := running(a, now), running(b, now)
	if ra != rb {
		return ra < rb
	}
	return a.TaskID < b.TaskID
}

// running is how long c has run (0 while launching).
func running(c Candidate, now time.Time) time.Duration {
	if c.Started.IsZero() || c.Started.After(now) {
		return 0
	}
	return now.Sub(c.Started)
}
