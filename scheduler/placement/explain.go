package placement

import (
	"sort"
	"strconv"
	"strings"
)

// Reason indexes the fixed rejection reasons; constraint rejections are
// counted per constraint of the ask and named by Constraint.Reason.
type Reason uint8

// The fixed rejection reasons.
const (
	ReasonNoCPU Reason = iota
	ReasonNoMem
	ReasonNoDisk
	ReasonNoGPUs
	ReasonMonitorSilent
	ReasonUniqueTaken
	ReasonMaxPerReached
	ReasonNoOffers
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNoCPU: "no cpu", ReasonNoMem: "no mem", ReasonNoDisk: "no disk", ReasonNoGPUs: "no gpus",
	ReasonMonitorSilent: "monitor silent", ReasonUniqueTaken: "unique taken",
	ReasonMaxPerReached: "max-per reached", ReasonNoOffers: "no offers",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Explanation counts, for one decision, how many agents were evaluated and
// how many were rejected under each named reason ("why pending"). The
// per-constraint counts alias a Chain buffer: they are valid until the
// next Place; call Reasons or String to keep them.
type Explanation struct {
	Evaluated  int
	counts     [numReasons]int32
	cons       *Constraints
	consCounts []int32
}

// Count returns the rejections counted under a fixed reason.
func (x *Explanation) Count(r Reason) int { return int(x.counts[r]) }

// ConstraintCount returns the rejections counted for constraint i of the ask.
func (x *Explanation) ConstraintCount(i int) int {
	if i < 0 || i >= len(x.consCounts) {
		return 0
	}
	return int(x.consCounts[i])
}

// ReasonCount is one named rejection reason and its count.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Reasons lists the non-zero reasons, largest count first (then by name).
func (x *Explanation) Reasons() []ReasonCount {
	var out []ReasonCount
	for r, n := range x.counts {
		if n > 0 {
			out = append(out, ReasonCount{reasonNames[r], int(n)})
		}
	}
	if x.cons != nil {
		for i, n := range x.consCounts {
			if n > 0 && i < len(x.cons.List) {
				out = append(out, ReasonCount{x.cons.List[i].reason, int(n)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// String renders the reasons as "no cpu: 12, constraint zone IS a: 3".
func (x *Explanation) String() string {
	rs := x.Reasons()
	if len(rs) == 0 {
		return "no rejections"
	}
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.Reason)
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(r.Count))
	}
	return b.String()
}

// Result is the coded outcome of placing one ask.
type Result struct {
	Code Code
	// AgentID and Hostname name the chosen agent when Placed.
	AgentID  string
	Hostname string
	// FromReserved and FromUnreserved split the ask's resources between the
	// role's reserved pool (used first) and the unreserved pool.
	FromReserved   Resources
	FromUnreserved Resources
	// Err explains Code == Error.
	Err error
	// Why counts the rejections behind the decision.
	Why Explanation
}
