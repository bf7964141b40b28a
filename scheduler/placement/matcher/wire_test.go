package matcher

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
)

func offer(host string, cpus float64, attrs map[string]string) engine.Offer {
	return engine.Offer{ID: "o-" + host, AgentID: "a-" + host, Hostname: host, Available: job.Resources{CPUs: cpus, Mem: 4096}, Attributes: attrs}
}

func placedOn(offers []engine.Offer, ps []engine.Placement) map[string]int {
	out := map[string]int{}
	for _, p := range ps {
		out[offers[p.Offer].Hostname] += p.Count
	}
	return out
}

// Constraints, priority, user and queue come from the demands; the
// engine's Tracker calls keep UNIQUE counts across cycles and terms.
func TestDemandFieldsAndTracker(t *testing.T) {
	m := New(Config{})
	offers := []engine.Offer{offer("h1", 4, map[string]string{"zone": "a"}), offer("h2", 4, map[string]string{"zone": "b"})}
	uniq := engine.Demand{Job: "j", Task: "u", Resources: job.Resources{CPUs: 1, Mem: 10}, Count: 3, Constraints: [][]string{{"hostname", "UNIQUE"}}}
	// Recovered: one instance already runs on h1.
	m.Started("j", "u", "h1")
	ps := m.Match(offers, []engine.Demand{uniq})
	if got := placedOn(offers, ps); len(got) != 1 || got["h2"] != 1 {
		t.Fatalf("placed %v, want one on h2", got)
	}
	if w, ok := m.Why("j", "u"); !ok || w.Code != placement.UnschedulableNow || w.Reasons[0].Reason != "unique taken" {
		t.Fatalf("why = %+v %v", w, ok)
	}
	m.Stopped("j", "u", "h1")
	if got := placedOn(offers, m.Match(offers, []engine.Demand{uniq})); got["h1"] != 1 || got["h2"] != 0 {
		t.Fatalf("after h1 stopped: %v", got)
	}
	m.JobDone("j")
	if _, ok := m.Why("j", "u"); ok || len(m.groups) != 0 || len(m.byJob) != 0 {
		t.Fatal("job state kept after JobDone")
	}
	zoned := engine.Demand{Job: "k", Task: "z", Resources: job.Resources{CPUs: 1, Mem: 10}, Count: 2, Constraints: [][]string{{"zone", "IS", "b"}}}
	if got := placedOn(offers, m.Match(offers, []engine.Demand{zoned})); got["h2"] != 2 || got["h1"] != 0 {
		t.Fatalf("zoned placed %v", got)
	}
}

// A constraint no agent meets is forever (the engine need not revive);
// a new agent or new attributes reset the verdict.
func TestForeverAndObserve(t *testing.T) {
	m := New(Config{})
	o1 := offer("h1", 4, map[string]string{"zone": "a"})
	if !m.Observe(&o1) || m.Observe(&o1) {
		t.Fatal("Observe: first sight must report a change, the same offer again none")
	}
	d := engine.Demand{Job: "j", Task: "gpu", Resources: job.Resources{CPUs: 1, Mem: 10}, Count: 1, Constraints: [][]string{{"gpu", "EXISTS"}}}
	if ps := m.Match([]engine.Offer{o1}, []engine.Demand{d}); len(ps) != 0 {
		t.Fatalf("placed %v", ps)
	}
	if !m.Forever("j", "gpu") {
		t.Fatalf("not forever: %+v", m.why)
	}
	o2 := offer("h2", 4, map[string]string{"gpu": "1"})
	if !m.Observe(&o2) || m.Forever("j", "gpu") {
		t.Fatal("a new agent must reset forever verdicts")
	}
	m.Match([]engine.Offer{o1}, []engine.Demand{d})
	if m.Forever("j", "gpu") {
		t.Fatal("forever although h2 could take it")
	}
	m.ResetForever()
	if ps := m.Match([]engine.Offer{o1, o2}, []engine.Demand{d}); len(ps) != 1 || ps[0].Offer != 1 {
		t.Fatalf("placed %v, want on h2", ps)
	}
}

// A silent monitor's agent gets nothing; reserved and unreserved parts add
// up to what is offered.
func TestMonitorSilentAndReserved(t *testing.T) {
	m := New(Config{})
	silent := offer("h1", 4, nil)
	silent.MonitorSilent = true
	res := offer("h2", 2, nil)
	res.Reserved = job.Resources{CPUs: 2, Mem: 4096}
	d := engine.Demand{Job: "j", Task: "t", Resources: job.Resources{CPUs: 1, Mem: 10}, Count: 3}
	got := placedOn([]engine.Offer{silent, res}, m.Match([]engine.Offer{silent, res}, []engine.Demand{d}))
	if got["h1"] != 0 || got["h2"] != 2 {
		t.Fatalf("placed %v, want 2 on h2 only", got)
	}
	if w, ok := m.Why("j", "t"); !ok || !hasReason(w.Reasons, "monitor silent") {
		t.Fatalf("why = %+v", w)
	}
}

func hasReason(rs []placement.ReasonCount, r string) bool {
	for _, x := range rs {
		if x.Reason == r {
			return true
		}
	}
	return false
}

// Preemption is planned only for work blocked long enough, only against
// lower priorities, with the shortest-running victim.
func TestPlanPreemption(t *testing.T) {
	now := time.Unix(1000, 0)
	m := New(Config{Now: func() time.Time { return now }})
	full := offer("h1", 0.5, nil) // 0.5 cpu left: the ask needs 1
	m.Match([]engine.Offer{offer("h1", 4, nil)}, nil)
	d := engine.Demand{Job: "hi", Task: "t", Resources: job.Resources{CPUs: 1, Mem: 10}, Count: 1, Priority: 500}
	if ps := m.Match([]engine.Offer{full}, []engine.Demand{d}); len(ps) != 0 {
		t.Fatalf("placed %v", ps)
	}
	running := []placement.Victim{
		{Key: "old", Hostname: "h1", Priority: 10, Resources: placement.Resources{CPUs: 1, Mem: 10}, Started: now.Add(-time.Hour)},
		{Key: "new", Hostname: "h1", Priority: 10, Resources: placement.Resources{CPUs: 1, Mem: 10}, Started: now.Add(-time.Minute)},
		{Key: "peer", Hostname: "h1", Priority: 500, Resources: placement.Resources{CPUs: 2, Mem: 10}, Started: now},
	}
	if _, ok := m.PlanPreemption(now, 5*time.Second, running); ok {
		t.Fatal("preempted before the ask was blocked long enough")
	}
	now = now.Add(6 * time.Second)
	m.Match([]engine.Offer{full}, []engine.Demand{d})
	p, ok := m.PlanPreemption(now, 5*time.Second, running)
	if !ok || p.Job != "hi" || p.Task != "t" || len(p.Victims) != 1 || p.Victims[0].Key != "new" {
		t.Fatalf("plan = %+v %v", p, ok)
	}
	// Equal priority never preempts.
	if _, ok := m.PlanPreemption(now, 5*time.Second, running[2:]); ok {
		t.Fatal("preempted an equal priority")
	}
	// Not on a host whose monitor is silent (nothing would be placed there).
	silent := full
	silent.MonitorSilent = true
	m.Match([]engine.Offer{silent}, []engine.Demand{d})
	if _, ok := m.PlanPreemption(now, 5*time.Second, running); ok {
		t.Fatal("preempted on a silent host")
	}
	// Once placed, the ask is no longer blocked.
	m.Match([]engine.Offer{offer("h1", 4, nil)}, []engine.Demand{d})
	if _, ok := m.PlanPreemption(now, 0, running); ok {
		t.Fatal("preempted for placed work")
	}
}

func TestFitCount(t *testing.T) {
	for _, c := range []struct {
		total, r placement.Resources
		want     int
	}{
		{placement.Resources{CPUs: 10, Mem: 100}, placement.Resources{CPUs: 1, Mem: 1}, 11},
		{placement.Resources{CPUs: 10, Mem: 100}, placement.Resources{CPUs: 0.1, Mem: 50}, 3},
		{placement.Resources{}, placement.Resources{CPUs: 1}, 1},
		{placement.Resources{CPUs: 1}, placement.Resources{}, 1<<31 - 1},
	} {
		if got := fitCount(c.total, c.r); got != c.want {
			t.Errorf("fitCount(%v, %v) = %d, want %d", c.total, c.r, got, c.want)
		}
	}
}

// Priority first, then weighted DRF across users (user a weighs 3), then
// FIFO; usage carries over between cycles.
func TestFairOrderAcrossCycles(t *testing.T) {
	m := New(Config{Fair: placement.FairConfig{UserWeights: map[string]float64{"a": 3}}})
	one := job.Resources{CPUs: 1, Mem: 10}
	demands := []engine.Demand{
		{Job: "ja", Task: "t", Resources: one, Count: 100, User: "a"},
		{Job: "jb", Task: "t", Resources: one, Count: 100, User: "b"},
		{Job: "urgent", Task: "t", Resources: one, Count: 2, User: "b", Priority: 900},
	}
	per := func(ps []engine.Placement) map[int]int {
		out := map[int]int{}
		for _, p := range ps {
			out[p.Demand] += p.Count
		}
		return out
	}
	got := per(m.Match([]engine.Offer{offer("h1", 10, nil)}, demands))
	// 10 cpus: urgent (user b) takes 2 first; then a, weighing 3, runs
	// until a/3 passes b's 2 (a ties at 6 and wins the tie), b gets the
	// last: a 7, b 1.
	if got[2] != 2 || got[0] != 7 || got[1] != 1 {
		t.Fatalf("cycle 1 per demand %v, want urgent 2, a 7, b 1", got)
	}
	// Next cycle the usage carries over (a 7, b 3): a, at 7/3 < 3, goes
	// first until it passes b: a 3 more, b 1.
	got = per(m.Match([]engine.Offer{offer("h2", 4, nil)}, demands[:2]))
	if got[0] != 3 || got[1] != 1 {
		t.Fatalf("cycle 2 per demand %v, want a 3, b 1", got)
	}
	// With equal weights: a alone takes a first agent; on the next one b,
	// far below a's carried-over usage, gets everything (without usage
	// across cycles they would split it).
	m2 := New(Config{})
	if got := per(m2.Match([]engine.Offer{offer("h1", 6, nil)}, demands[:1])); got[0] != 6 {
		t.Fatalf("a alone: %v", got)
	}
	if got := per(m2.Match([]engine.Offer{offer("h2", 4, nil)}, demands[:2])); got[0] != 0 || got[1] != 4 {
		t.Fatalf("after a's 6: %v, want b 4", got)
	}
}
