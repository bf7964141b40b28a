package matcher

import (
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
)

func TestMatcher(t *testing.T) {
	offers := []engine.Offer{
		{ID: "o1", AgentID: "a1", Hostname: "h1", Available: job.Resources{CPUs: 4, Mem: 4096}, Attributes: map[string]string{"zone": "a"}},
		{ID: "o2", AgentID: "a2", Hostname: "h2", Available: job.Resources{CPUs: 4, Mem: 4096}, Attributes: map[string]string{"zone": "b"}},
		{ID: "o3", AgentID: "a3", Hostname: "h3", Available: job.Resources{CPUs: 4, Mem: 4096}, Attributes: map[string]string{"zone": "b"}},
	}
	info := map[string]TaskInfo{
		"j1/zoned":  {Constraints: placement.MustParseConstraints([]string{"zone", "IS", "b"})},
		"j1/unique": {Constraints: placement.MustParseConstraints([]string{"hostname", "UNIQUE"})},
		"j2/never":  {Constraints: placement.MustParseConstraints([]string{"zone", "IS", "z"})},
		"j3/urgent": {Priority: 9},
	}
	m := New(Config{Info: func(j, task string) TaskInfo { return info[j+"/"+task] }})
	demands := []engine.Demand{
		{Job: "j1", Task: "zoned", Resources: job.Resources{CPUs: 1, Mem: 128}, Count: 3},
		{Job: "j1", Task: "unique", Resources: job.Resources{CPUs: 0.5, Mem: 64}, Count: 5},
		{Job: "j2", Task: "never", Resources: job.Resources{CPUs: 0.5, Mem: 64}, Count: 2},
		{Job: "j3", Task: "urgent", Resources: job.Resources{CPUs: 4, Mem: 64}, Count: 1},
	}
	ps := m.Match(offers, demands)
	perDemand := map[int]int{}
	used := make([]job.Resources, len(offers))
	for _, p := range ps {
		perDemand[p.Demand] += p.Count
		for k := 0; k < p.Count; k++ {
			r := demands[p.Demand].Resources
			used[p.Offer] = job.Resources{CPUs: used[p.Offer].CPUs + r.CPUs, Mem: used[p.Offer].Mem + r.Mem}
		}
		switch p.Demand {
		case 0:
			if offers[p.Offer].Attributes["zone"] != "b" {
				t.Fatalf("zoned task on %s", offers[p.Offer].Hostname)
			}
		case 1:
			if p.Count != 1 {
				t.Fatalf("unique task twice on %s", offers[p.Offer].Hostname)
			}
		}
	}
	for i := range offers {
		if !engine.Fits(used[i], offers[i].Available) {
			t.Fatalf("offer %d overcommitted: %v", i, used[i])
		}
	}
	// The high-priority 4-cpu ask goes first and takes a whole agent, so
	// unique fits on the two others only.
	if perDemand[3] != 1 || perDemand[0] != 3 || perDemand[1] != 2 || perDemand[2] != 0 {
		t.Fatalf("per demand %v (%v)", perDemand, ps)
	}
	if w, ok := m.Why("j2", "never"); !ok || w.Code != placement.UnschedulableForever || w.Reasons[0].Reason != "constraint zone IS z" {
		t.Fatalf("why never: %+v %v", w, ok)
	}
	if w, ok := m.Why("j1", "unique"); !ok || w.Code != placement.UnschedulableNow || w.Reasons[0].Reason != "unique taken" {
		t.Fatalf("why unique: %+v", w)
	}
	if _, ok := m.Why("j1", "zoned"); ok {
		t.Fatal("fully placed task still explained")
	}
	// Counts persist across cycles: with fresh offers only h2 is free of
	// the unique task, then none is.
	ps = m.Match(offers, []engine.Demand{demands[1]})
	if len(ps) != 1 || offers[ps[0].Offer].Hostname != "h2" || ps[0].Count != 1 {
		t.Fatalf("second cycle: %v", ps)
	}
	if ps = m.Match(offers, []engine.Demand{demands[1]}); len(ps) != 0 {
		t.Fatalf("unique placed again: %v", ps)
	}
	m.Chain().RemoveRunning(GroupOf("j1", "unique"), "h1")
	ps = m.Match(offers, []engine.Demand{demands[1]})
	if len(ps) != 1 || offers[ps[0].Offer].Hostname != "h1" {
		t.Fatalf("after removal: %v", ps)
	}
}
