package placement

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func res(cpus, mem float64) Resources { return Resources{CPUs: cpus, Mem: mem} }

func agent(host string, r Resources, attrs ...string) *Agent {
	a := &Agent{ID: "id-" + host, Hostname: host, Unreserved: r, Attrs: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		a.Attrs[attrs[i]] = attrs[i+1]
	}
	return a
}

// cycle starts a cycle offering agents on a fresh engine, with a candidate
// limit large enough that ranking sees every feasible agent.
func cycle(limit int, agents ...*Agent) *Chain {
	e := NewChain(Config{Limit: limit, Seed: 7})
	e.BeginCycle()
	for _, a := range agents {
		e.Offer(a)
	}
	return e
}

func TestResourceReasons(t *testing.T) {
	cases := []struct {
		name   string
		offer  Resources
		ask    Resources
		reason Reason
	}{
		{"cpu", res(1, 1024), res(2, 64), ReasonNoCPU},
		{"mem", res(4, 128), res(1, 256), ReasonNoMem},
		{"disk", Resources{CPUs: 4, Mem: 1024, Disk: 10}, Resources{CPUs: 1, Mem: 64, Disk: 100}, ReasonNoDisk},
		{"gpus", res(4, 1024), Resources{CPUs: 1, Mem: 64, GPUs: 1}, ReasonNoGPUs},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := cycle(2, agent("a", tc.offer), agent("b", tc.offer))
			r := e.Place(&Ask{Key: "k", Resources: tc.ask})
			if r.Code != UnschedulableForever {
				t.Fatalf("code %v, want forever (bigger than every agent)", r.Code)
			}
			if got := r.Why.Count(tc.reason); got != 2 {
				t.Fatalf("%v count %d, want 2; why: %s", tc.reason, got, r.Why.String())
			}
			if !strings.Contains(r.Why.String(), tc.reason.String()+": 2") {
				t.Fatalf("why %q", r.Why.String())
			}
		})
	}
}

func TestReservedFirstAndConsume(t *testing.T) {
	a := &Agent{Hostname: "a", Reserved: res(1, 100), Unreserved: res(3, 900)}
	e := cycle(2, a)
	r := e.Place(&Ask{Resources: res(1.5, 50)})
	if r.Code != Placed || r.FromReserved != res(1, 50) || r.FromUnreserved != res(0.5, 0) {
		t.Fatalf("first: %+v", r)
	}
	r = e.Place(&Ask{Resources: res(1, 100)})
	if r.Code != Placed || r.FromReserved != res(0, 50) || r.FromUnreserved != res(1, 50) {
		t.Fatalf("second: %+v", r)
	}
	rr, ur := e.Remaining("a")
	if !rr.IsZero() || ur != res(1.5, 850) {
		t.Fatalf("remaining %v %v", rr, ur)
	}
	// 1.5 cpus left: a 2-cpu ask fails now (it fits the agent's capacity).
	if r = e.Place(&Ask{Resources: res(2, 10)}); r.Code != UnschedulableNow || r.Why.Count(ReasonNoCPU) != 1 {
		t.Fatalf("third: %v %s", r.Code, r.Why.String())
	}
	// Exhaust memory below the Mesos minimum: the agent leaves the cycle.
	if r = e.Place(&Ask{Resources: res(0.1, 840)}); r.Code != Placed {
		t.Fatalf("fourth: %v", r.Code)
	}
	if r = e.Place(&Ask{Resources: res(0.1, 1)}); r.Code != UnschedulableNow || r.Why.Count(ReasonNoOffers) != 1 {
		t.Fatalf("after exhaustion: %v %s", r.Code, r.Why.String())
	}
	// A new cycle forgets consumed offers.
	e.BeginCycle()
	e.Offer(a)
	if r = e.Place(&Ask{Resources: res(4, 1000)}); r.Code != Placed {
		t.Fatalf("new cycle: %v %s", r.Code, r.Why.String())
	}
}

func TestMultipleOffersOfOneAgentAddUp(t *testing.T) {
	e := cycle(2, agent("a", res(1, 512)))
	e.Offer(agent("a", res(1, 512)))
	if r := e.Place(&Ask{Resources: res(2, 1024)}); r.Code != Placed {
		t.Fatalf("%v %s", r.Code, r.Why.String())
	}
}

func TestStrategy(t *testing.T) {
	mk := func() []*Agent {
		full := &Agent{Hostname: "full", Capacity: res(8, 8192), Unreserved: res(2, 2048)}
		empty := &Agent{Hostname: "empty", Capacity: res(8, 8192), Unreserved: res(8, 8192)}
		return []*Agent{full, empty}
	}
	for _, tc := range []struct {
		s    Strategy
		want string
	}{{BinPack, "full"}, {Spread, "empty"}} {
		e := cycle(10, mk()...)
		r := e.Place(&Ask{Resources: res(1, 512), Strategy: tc.s})
		if r.Hostname != tc.want {
			t.Errorf("strategy %d placed on %s, want %s", tc.s, r.Hostname, tc.want)
		}
	}
}

func TestOperatorsThroughChain(t *testing.T) {
	agents := func() []*Agent {
		return []*Agent{
			agent("h1", res(8, 8192), "zone", "a", "rack", "r1"),
			agent("h2", res(8, 8192), "zone", "a", "rack", "r2"),
			agent("h3", res(8, 8192), "zone", "b", "rack", "r3"),
			agent("h4", res(8, 8192), "zone", "c"),
		}
	}
	type want struct {
		hosts  map[string]int // instances per host after placing n
		placed int
	}
	cases := []struct {
		name string
		cons [][]string
		n    int
		// check gets placements per host and per zone
		check func(t *testing.T, hosts, zones map[string]int, placed int)
	}{
		{"IS", [][]string{{"zone", "IS", "b"}}, 3, func(t *testing.T, h, z map[string]int, p int) {
			if h["h3"] != 3 || p != 3 {
				t.Fatalf("hosts %v", h)
			}
		}},
		{"LIKE", [][]string{{"rack", "LIKE", "r[12]"}}, 4, func(t *testing.T, h, z map[string]int, p int) {
			if h["h1"]+h["h2"] != 4 {
				t.Fatalf("hosts %v", h)
			}
		}},
		{"UNLIKE", [][]string{{"zone", "UNLIKE", "a"}}, 4, func(t *testing.T, h, z map[string]int, p int) {
			if h["h1"]+h["h2"] != 0 || p != 4 {
				t.Fatalf("hosts %v", h)
			}
		}},
		{"EXISTS", [][]string{{"rack", "EXISTS"}}, 6, func(t *testing.T, h, z map[string]int, p int) {
			if h["h4"] != 0 || p != 6 {
				t.Fatalf("hosts %v", h)
			}
		}},
		{"NOT_EXISTS", [][]string{{"rack", "NOT_EXISTS"}}, 2, func(t *testing.T, h, z map[string]int, p int) {
			if h["h4"] != 2 {
				t.Fatalf("hosts %v", h)
			}
		}},
		{"UNIQUE hostname", [][]string{{"hostname", "UNIQUE"}}, 6, func(t *testing.T, h, z map[string]int, p int) {
			if p != 4 || len(h) != 4 {
				t.Fatalf("placed %d hosts %v: want one per host", p, h)
			}
		}},
		{"UNIQUE zone", [][]string{{"zone", "UNIQUE"}}, 6, func(t *testing.T, h, z map[string]int, p int) {
			if p != 3 || z["a"] != 1 || z["b"] != 1 || z["c"] != 1 {
				t.Fatalf("placed %d zones %v", p, z)
			}
		}},
		{"MAX_PER", [][]string{{"zone", "MAX_PER", "2"}}, 9, func(t *testing.T, h, z map[string]int, p int) {
			if p != 6 || z["a"] != 2 || z["b"] != 2 || z["c"] != 2 {
				t.Fatalf("placed %d zones %v", p, z)
			}
		}},
		{"GROUP_BY", [][]string{{"zone", "GROUP_BY"}}, 9, func(t *testing.T, h, z map[string]int, p int) {
			if p != 9 || z["a"] != 3 || z["b"] != 3 || z["c"] != 3 {
				t.Fatalf("placed %d zones %v", p, z)
			}
		}},
		{"CLUSTER pinned by first", [][]string{{"rack", "CLUSTER"}}, 3, func(t *testing.T, h, z map[string]int, p int) {
			if p != 3 || len(h) != 1 || h["h4"] != 0 {
				t.Fatalf("placed %d hosts %v", p, h)
			}
		}},
		{"CLUSTER value", [][]string{{"rack", "CLUSTER", "r2"}}, 2, func(t *testing.T, h, z map[string]int, p int) {
			if h["h2"] != 2 {
				t.Fatalf("hosts %v", h)
			}
		}},
		{"hostname LIKE", [][]string{{"hostname", "LIKE", "h[34]"}}, 4, func(t *testing.T, h, z map[string]int, p int) {
			if h["h3"]+h["h4"] != 4 {
				t.Fatalf("hosts %v", h)
			}
		}},
	}
	zoneOf := map[string]string{"h1": "a", "h2": "a", "h3": "b", "h4": "c"}
	for _, tc := range cases {
		for _, s := range []Strategy{BinPack, Spread} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, s), func(t *testing.T) {
				e := cycle(2, agents()...)
				cs := MustParseConstraints(tc.cons...)
				hosts, zones, placed := map[string]int{}, map[string]int{}, 0
				for i := 0; i < tc.n; i++ {
					r := e.Place(&Ask{Key: fmt.Sprint(i), Group: "job/task", Resources: res(0.5, 256), Constraints: cs, Strategy: s})
					if r.Code == Placed {
						hosts[r.Hostname]++
						zones[zoneOf[r.Hostname]]++
						placed++
					} else if r.Code == Error {
						t.Fatal(r.Err)
					}
				}
				tc.check(t, hosts, zones, placed)
			})
		}
	}
}

func TestCountingReasonsAndRunning(t *testing.T) {
	e := cycle(2, agent("h1", res(8, 8192)), agent("h2", res(8, 8192)))
	cs := MustParseConstraints([]string{"hostname", "UNIQUE"})
	e.AddRunning("g", "h1")
	e.AddRunning("g", "h2")
	r := e.Place(&Ask{Group: "g", Resources: res(1, 64), Constraints: cs})
	if r.Code != UnschedulableNow || r.Why.Count(ReasonUniqueTaken) != 2 {
		t.Fatalf("%v %s", r.Code, r.Why.String())
	}
	e.RemoveRunning("g", "h2")
	r = e.Place(&Ask{Group: "g", Resources: res(1, 64), Constraints: cs})
	if r.Code != Placed || r.Hostname != "h2" {
		t.Fatalf("after remove: %v %s %s", r.Code, r.Hostname, r.Why.String())
	}
	if e.Running("g", "h2") != 1 {
		t.Fatal("placement not counted")
	}

	mp := MustParseConstraints([]string{"hostname", "MAX_PER", "1"})
	e.AddRunning("m", "h1")
	e.AddRunning("m", "h2")
	r = e.Place(&Ask{Group: "m", Resources: res(1, 64), Constraints: mp})
	if r.Why.Count(ReasonMaxPerReached) != 2 {
		t.Fatalf("max-per: %s", r.Why.String())
	}
}

func TestForeverVersusNow(t *testing.T) {
	e := cycle(2, agent("h1", res(4, 4096), "zone", "a"), agent("h2", res(4, 4096), "zone", "b"))
	// Nobody is in zone c.
	r := e.Place(&Ask{Resources: res(1, 64), Constraints: MustParseConstraints([]string{"zone", "IS", "c"})})
	if r.Code != UnschedulableForever || r.Why.ConstraintCount(0) != 2 {
		t.Fatalf("zone c: %v %s", r.Code, r.Why.String())
	}
	if got := r.Why.String(); got != "constraint zone IS c: 2" {
		t.Fatalf("why %q", got)
	}
	// UNIQUE on a field nobody has.
	r = e.Place(&Ask{Group: "x", Resources: res(1, 64), Constraints: MustParseConstraints([]string{"rack", "UNIQUE"})})
	if r.Code != UnschedulableForever {
		t.Fatalf("rack unique: %v", r.Code)
	}
	// Fill h1 (zone a): a zone-a ask is only unschedulable now.
	za := MustParseConstraints([]string{"zone", "IS", "a"})
	if r = e.Place(&Ask{Resources: res(4, 64), Constraints: za}); r.Code != Placed {
		t.Fatal(r.Code)
	}
	if r = e.Place(&Ask{Resources: res(1, 64), Constraints: za}); r.Code != UnschedulableNow {
		t.Fatalf("zone a busy: %v %s", r.Code, r.Why.String())
	}
	// Bigger than any agent ever offered.
	if r = e.Place(&Ask{Resources: res(5, 64)}); r.Code != UnschedulableForever {
		t.Fatalf("too big: %v", r.Code)
	}
	// An agent's declared capacity counts even if its offer is small.
	e.Offer(&Agent{Hostname: "big", Capacity: res(16, 65536), Unreserved: res(1, 64)})
	if r = e.Place(&Ask{Resources: res(5, 64)}); r.Code != UnschedulableNow {
		t.Fatalf("fits big later: %v", r.Code)
	}
	// Errors.
	if r = e.Place(&Ask{Resources: res(-1, 64)}); r.Code != Error || !strings.Contains(r.Err.Error(), "resources.cpus") {
		t.Fatalf("negative: %v %v", r.Code, r.Err)
	}
	if r = e.Place(&Ask{Resources: res(1, 64), Constraints: MustParseConstraints([]string{"hostname", "UNIQUE"})}); r.Code != Error || !strings.Contains(r.Err.Error(), "group") {
		t.Fatalf("no group: %v %v", r.Code, r.Err)
	}
}

func TestMonitorSilent(t *testing.T) {
	a := agent("h1", res(4, 4096))
	a.MonitorSilent = true
	e := cycle(2, a)
	r := e.Place(&Ask{Resources: res(1, 64)})
	if r.Code != UnschedulableNow || r.Why.Count(ReasonMonitorSilent) != 1 {
		t.Fatalf("%v %s", r.Code, r.Why.String())
	}
	a.MonitorSilent = false
	e.BeginCycle()
	e.Offer(a)
	if r = e.Place(&Ask{Resources: res(1, 64)}); r.Code != Placed {
		t.Fatal(r.Code)
	}
}

func TestClassCacheFollowsAttributeEdits(t *testing.T) {
	var agents []*Agent
	for i := 0; i < 100; i++ {
		agents = append(agents, agent(fmt.Sprintf("h%d", i), res(64, 65536), "zone", fmt.Sprint("z", i%3), "ssd", "true"))
	}
	e := cycle(2, agents...)
	if e.Classes() != 3 {
		t.Fatalf("classes %d, want 3", e.Classes())
	}
	cs := MustParseConstraints([]string{"gpu", "IS", "a100"})
	if r := e.Place(&Ask{Resources: res(1, 64), Constraints: cs}); r.Code != UnschedulableForever {
		t.Fatal(r.Code)
	}
	// An operator labels h42 with a GPU attribute (etcd): next cycle it fits there only.
	agents[42].Attrs = map[string]string{"zone": "z0", "ssd": "true", "gpu": "a100"}
	e.BeginCycle()
	for _, a := range agents {
		e.Offer(a)
	}
	for i := 0; i < 5; i++ {
		r := e.Place(&Ask{Resources: res(1, 64), Constraints: cs})
		if r.Code != Placed || r.Hostname != "h42" {
			t.Fatalf("%v on %q: %s", r.Code, r.Hostname, r.Why.String())
		}
	}
	if e.Classes() != 4 {
		t.Fatalf("classes %d, want 4", e.Classes())
	}
}

func TestAttributeEditMovesCounts(t *testing.T) {
	h1 := agent("h1", res(8, 8192), "zone", "a")
	h2 := agent("h2", res(8, 8192), "zone", "b")
	e := cycle(2, h1, h2)
	cs := MustParseConstraints([]string{"zone", "UNIQUE"})
	if r := e.Place(&Ask{Group: "g", Resources: res(1, 64), Constraints: cs}); r.Code != Placed || r.Hostname != "h1" && r.Hostname != "h2" {
		t.Fatal(r.Code)
	}
	if r := e.Place(&Ask{Group: "g", Resources: res(1, 64), Constraints: cs}); r.Code != Placed {
		t.Fatal(r.Code)
	}
	// Both zones taken. Relabel h2 into zone c: still taken (its instance
	// moved with it to c), and a third host in zone d is free.
	h2.Attrs = map[string]string{"zone": "c"}
	e.BeginCycle()
	e.Offer(h1)
	e.Offer(h2)
	if r := e.Place(&Ask{Group: "g", Resources: res(1, 64), Constraints: cs}); r.Code != UnschedulableNow || r.Why.Count(ReasonUniqueTaken) != 2 {
		t.Fatalf("%v %s", r.Code, r.Why.String())
	}
	e.Offer(agent("h3", res(8, 8192), "zone", "d"))
	if r := e.Place(&Ask{Group: "g", Resources: res(1, 64), Constraints: cs}); r.Code != Placed || r.Hostname != "h3" {
		t.Fatalf("%v %s", r.Code, r.Hostname)
	}
}

func TestFailureMemo(t *testing.T) {
	e := cycle(2, agent("h1", res(1, 1024)), agent("h2", res(1, 1024)))
	r := e.Place(&Ask{Resources: res(2, 64)})
	if r.Code != UnschedulableForever || r.Why.Evaluated != 2 {
		t.Fatalf("%v %d", r.Code, r.Why.Evaluated)
	}
	// Same or bigger shape: answered from the memo with the same reasons.
	r = e.Place(&Ask{Resources: res(3, 64)})
	if r.Code != UnschedulableNow || r.Why.Evaluated != 0 || r.Why.Count(ReasonNoCPU) != 2 {
		t.Fatalf("memo: %v %d %s", r.Code, r.Why.Evaluated, r.Why.String())
	}
	// A smaller ask is evaluated again and fits.
	if r = e.Place(&Ask{Resources: res(1, 64)}); r.Code != Placed {
		t.Fatal(r.Code)
	}
	// More offers in the same cycle void the memo.
	e.Offer(agent("h3", res(4, 1024)))
	if r = e.Place(&Ask{Resources: res(2, 64)}); r.Code != Placed || r.Hostname != "h3" {
		t.Fatalf("after offer: %v", r.Code)
	}
}

func TestPowerOfTwoLimitsEvaluation(t *testing.T) {
	var agents []*Agent
	for i := 0; i < 1000; i++ {
		agents = append(agents, agent(fmt.Sprint("h", i), res(8, 8192)))
	}
	e := cycle(2, agents...)
	r := e.Place(&Ask{Resources: res(1, 64)})
	if r.Code != Placed || r.Why.Evaluated != 2 {
		t.Fatalf("%v evaluated %d, want 2", r.Code, r.Why.Evaluated)
	}
}

// TestPlacementInvariants is property-style: random agents (reserved and
// unreserved pools, attributes) and random asks; whatever is placed must
// fit what was offered, respect reserved-first, satisfy the constraints,
// never break UNIQUE, and asks reported forever must fit no agent.
func TestPlacementInvariants(t *testing.T) {
	zones := []string{"a", "b", "c"}
	sets := []*Constraints{
		nil,
		MustParseConstraints([]string{"zone", "IS", "a"}),
		MustParseConstraints([]string{"hostname", "UNIQUE"}),
		MustParseConstraints([]string{"zone", "GROUP_BY"}),
		MustParseConstraints([]string{"rack", "EXISTS"}, []string{"zone", "MAX_PER", "3"}),
		MustParseConstraints([]string{"zone", "LIKE", "[bc]"}),
		MustParseConstraints([]string{"gpu", "IS", "yes"}), // nobody
	}
	for seed := uint64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		e := NewChain(Config{Seed: seed, Limit: 1 + rng.IntN(3)})
		var agents []*Agent
		for i := 0; i < 5+rng.IntN(40); i++ {
			a := &Agent{Hostname: fmt.Sprint("h", i), Attrs: map[string]string{"zone": zones[rng.IntN(3)]},
				Reserved:   res(float64(rng.IntN(3)), float64(rng.IntN(3)*512)),
				Unreserved: res(float64(1+rng.IntN(8)), float64(512+rng.IntN(8)*512))}
			if rng.IntN(2) == 0 {
				a.Attrs["rack"] = fmt.Sprint("r", rng.IntN(4))
			}
			agents = append(agents, a)
		}
		e.BeginCycle()
		offered := map[string][2]Resources{}
		for _, a := range agents {
			e.Offer(a)
			offered[a.Hostname] = [2]Resources{a.Reserved, a.Unreserved}
		}
		used := map[string][2]Resources{}
		uniq := map[string]bool{}
		groupBy, present := map[string]int{}, map[string]bool{}
		byHost := map[string]*Agent{}
		for _, a := range agents {
			byHost[a.Hostname] = a
			present[a.Attrs["zone"]] = true
		}
		for i := 0; i < 300; i++ {
			si := rng.IntN(len(sets))
			ask := &Ask{Key: fmt.Sprint(i), Group: fmt.Sprint("g", si), Constraints: sets[si],
				Resources: res(float64(rng.IntN(5))*0.25+0.1, float64(rng.IntN(8)*128+32)), Strategy: Strategy(rng.IntN(2))}
			r := e.Place(ask)
			switch r.Code {
			case Placed:
				u := used[r.Hostname]
				before := offered[r.Hostname][0].Sub(u[0])
				// reserved first: unreserved used in a dimension only when
				// the reserved pool could not cover it.
				if Milli(r.FromUnreserved.CPUs) > 0 && !AtLeast(r.FromReserved.CPUs, before.CPUs) ||
					Milli(r.FromUnreserved.Mem) > 0 && !AtLeast(r.FromReserved.Mem, before.Mem) {
					t.Fatalf("seed %d: reserved not used first: before %v got %v + %v", seed, before, r.FromReserved, r.FromUnreserved)
				}
				if got := r.FromReserved.Add(r.FromUnreserved); !got.Covers(ask.Resources) || !ask.Resources.Covers(got) {
					t.Fatalf("seed %d: split %v+%v != %v", seed, r.FromReserved, r.FromUnreserved, ask.Resources)
				}
				u[0], u[1] = u[0].Add(r.FromReserved), u[1].Add(r.FromUnreserved)
				used[r.Hostname] = u
				if !offered[r.Hostname][0].Covers(u[0]) || !offered[r.Hostname][1].Covers(u[1]) {
					t.Fatalf("seed %d: %s overcommitted: used %v of %v", seed, r.Hostname, u, offered[r.Hostname])
				}
				if ask.Constraints != nil {
					for _, c := range ask.Constraints.List {
						if !c.Satisfies(byHost[r.Hostname].Attrs, r.Hostname) {
							t.Fatalf("seed %d: %s placed on %s breaking %s", seed, ask.Key, r.Hostname, c.String())
						}
					}
				}
				if si == 3 {
					// GROUP_BY zone: the chosen zone had the fewest of
					// the group among all zones agents have.
					z := byHost[r.Hostname].Attrs["zone"]
					for _, other := range zones {
						if present[other] && groupBy[other] < groupBy[z] {
							t.Fatalf("seed %d: GROUP_BY placed in %s (%d) while %s has %d", seed, z, groupBy[z], other, groupBy[other])
						}
					}
					groupBy[z]++
				}
				if si == 2 {
					if uniq[r.Hostname] {
						t.Fatalf("seed %d: UNIQUE hostname broken on %s", seed, r.Hostname)
					}
					uniq[r.Hostname] = true
				}
			case UnschedulableForever:
				for _, a := range agents {
					ok := a.Reserved.Add(a.Unreserved).Covers(ask.Resources)
					if ok && ask.Constraints != nil {
						for _, c := range ask.Constraints.List {
							ok = ok && c.Satisfies(a.Attrs, a.Hostname)
						}
					}
					if ok {
						t.Fatalf("seed %d: %s reported forever but fits %s", seed, ask.Key, a.Hostname)
					}
				}
			case Error:
				t.Fatal(r.Err)
			}
		}
	}
}

func TestPlaceSteadyStateAllocations(t *testing.T) {
	var agents []*Agent
	for i := 0; i < 200; i++ {
		agents = append(agents, agent(fmt.Sprint("h", i), res(1e6, 1e9), "zone", fmt.Sprint("z", i%4)))
	}
	e := cycle(2, agents...)
	asks := []*Ask{
		{Group: "a", Resources: res(0.1, 32)},
		{Group: "b", Resources: res(0.1, 32), Constraints: MustParseConstraints([]string{"zone", "GROUP_BY"})},
		{Group: "c", Resources: res(0.1, 32), Constraints: MustParseConstraints([]string{"zone", "LIKE", "z[12]"}, []string{"hostname", "MAX_PER", "1000000"})},
		{Group: "d", Resources: res(0.1, 32), Constraints: MustParseConstraints([]string{"gpu", "IS", "x"})},
	}
	for _, a := range asks { // warm up groups and caches
		e.Place(a)
	}
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		e.Place(asks[i%len(asks)])
		i++
	})
	if allocs != 0 {
		t.Fatalf("allocs per Place %v, want 0", allocs)
	}
}

func TestReservedAgentsFirst(t *testing.T) {
	for _, s := range []Strategy{BinPack, Spread} {
		full := &Agent{Hostname: "full", Capacity: res(8, 8192), Unreserved: res(1, 1024)}
		resv := &Agent{Hostname: "reserved", Capacity: res(8, 8192), Reserved: res(2, 2048), Unreserved: res(6, 6144)}
		empty := &Agent{Hostname: "empty", Capacity: res(8, 8192), Unreserved: res(8, 8192)}
		e := cycle(10, full, resv, empty)
		if r := e.Place(&Ask{Resources: res(1, 512), Strategy: s}); r.Hostname != "reserved" || r.FromReserved != res(1, 512) {
			t.Fatalf("strategy %d: placed on %s from %v", s, r.Hostname, r.FromReserved)
		}
	}
}

func TestRemoveAgent(t *testing.T) {
	a := agent("h1", res(8, 8192), "zone", "a")
	b := agent("h2", res(8, 8192), "zone", "b")
	c := agent("h3", res(8, 8192), "zone", "c")
	e := cycle(3, a, b, c)
	gb := MustParseConstraints([]string{"zone", "GROUP_BY"})
	place := func() Result { return e.Place(&Ask{Group: "g", Resources: res(1, 64), Constraints: gb}) }
	for i := 0; i < 3; i++ {
		if r := place(); r.Code != Placed {
			t.Fatal(r.Code)
		}
	}
	// h3 leaves: zone c no longer holds GROUP_BY back.
	e.RemoveAgent("h3")
	e.BeginCycle()
	e.Offer(a)
	e.Offer(b)
	zones := map[string]int{}
	for i := 0; i < 4; i++ {
		r := place()
		if r.Code != Placed {
			t.Fatalf("after removal %d: %v %s", i, r.Code, r.Why.String())
		}
		zones[r.Hostname]++
	}
	if zones["h1"] != 2 || zones["h2"] != 2 {
		t.Fatalf("zones %v", zones)
	}
	// A big agent seen once then removed no longer makes asks "now".
	big := &Agent{Hostname: "big", Unreserved: res(64, 65536)}
	e.Offer(big)
	e.Place(&Ask{Resources: res(64, 65536)})
	e.RemoveAgent("big")
	if r := e.Place(&Ask{Resources: res(32, 64)}); r.Code != UnschedulableForever {
		t.Fatalf("after big left: %v", r.Code)
	}
	// Offering h3 again brings zone c back into the balance.
	e.BeginCycle()
	e.Offer(a)
	e.Offer(b)
	e.Offer(c)
	if r := place(); r.Code != Placed || r.Hostname != "h3" {
		t.Fatalf("h3 back: %v %s", r.Code, r.Hostname)
	}
}
