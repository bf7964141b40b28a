package placement

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

const (
	benchAgents  = 10000
	benchPending = 100000
	benchGroup   = 100 // instances per task group
)

// benchCluster builds 10,000 agents with attributes (zone, rack, disk kind,
// instance type, some GPUs) and 100,000 pending instances in 1,000 groups
// with a mix of constraints.
func benchCluster() ([]*Agent, []*Ask) {
	rng := rand.New(rand.NewPCG(1, 2))
	agents := make([]*Agent, benchAgents)
	for i := range agents {
		attrs := map[string]string{
			"zone":  fmt.Sprintf("zone-%d", i%5),
			"rack":  fmt.Sprintf("rack-%03d", i%200),
			"disk":  []string{"ssd", "hdd"}[rng.IntN(2)],
			"itype": []string{"m5", "c5", "r5", "x1"}[rng.IntN(4)],
		}
		r := res(32, 131072)
		r.Disk = 1 << 20
		if i%50 == 0 {
			attrs["gpu"] = "a100"
			r.GPUs = 4
		}
		agents[i] = &Agent{ID: fmt.Sprint("agent-", i), Hostname: fmt.Sprintf("host-%05d.dc1", i), Attrs: attrs,
			Reserved: res(4, 16384), Unreserved: r.Sub(res(4, 16384))}
	}
	mixes := [][][]string{
		nil, nil, nil, nil,
		{{"zone", "IS", "zone-2"}},
		{{"disk", "IS", "ssd"}, {"itype", "UNLIKE", "x1"}},
		{{"rack", "LIKE", "rack-0[0-4][0-9]"}},
		{{"hostname", "UNIQUE"}},
		{{"zone", "GROUP_BY"}},
		{{"rack", "MAX_PER", "5"}},
		{{"gpu", "EXISTS"}},
		{{"hostname", "LIKE", "host-0[0-4].*"}, {"disk", "EXISTS"}},
	}
	asks := make([]*Ask, benchPending)
	var cs *Constraints
	var res0 Resources
	for i := range asks {
		g := i / benchGroup
		if i%benchGroup == 0 {
			m := mixes[g%len(mixes)]
			cs = nil
			if m != nil {
				cs = MustParseConstraints(m...)
			}
			res0 = res(0.25*float64(1+rng.IntN(8)), float64(256*(1+rng.IntN(16))))
			if m != nil && m[0][0] == "gpu" {
				res0.GPUs = 1
			}
		}
		asks[i] = &Ask{Key: fmt.Sprintf("job%d.t.%d", g, i%benchGroup), Group: fmt.Sprint("job", g, "/t"),
			Resources: res0, Constraints: cs, Priority: g % 3, User: fmt.Sprint("u", g%7), Seq: uint64(i)}
	}
	return agents, asks
}

// BenchmarkPlacement measures the placement chain on one core: 10,000
// agents with attributes, 100,000 pending instances with mixed
// constraints; each op is one Place. Every 100,000 attempts the cycle is
// restarted (fresh offers, finished instances uncounted).
func BenchmarkPlacement(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	agents, asks := benchCluster()
	e := NewChain(Config{})
	hosts := make([]string, len(asks))
	round := func() {
		e.BeginCycle()
		for _, a := range agents {
			e.Offer(a)
		}
	}
	finish := func() {
		for i, h := range hosts {
			if h != "" {
				e.RemoveRunning(asks[i].Group, h)
				hosts[i] = ""
			}
		}
	}
	round()
	placed := 0
	for i, a := range asks { // warm-up round: groups, classes, caches
		if r := e.Place(a); r.Code == Placed {
			hosts[i] = r.Hostname
			placed++
		}
	}
	finish()
	round()
	b.ReportAllocs()
	b.ResetTimer()
	placedN, j := 0, 0
	for i := 0; i < b.N; i++ {
		if j == len(asks) {
			b.StopTimer()
			finish()
			b.StartTimer()
			round()
			j = 0
		}
		if r := e.Place(asks[j]); r.Code == Placed {
			hosts[j] = r.Hostname
			placedN++
		}
		j++
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "decisions/s")
	b.ReportMetric(float64(placedN)/sec, "placements/s")
	b.ReportMetric(float64(placed)/float64(len(asks))*100, "%placed")
}

// BenchmarkPlacementCycle measures whole offer cycles: each op offers 1,000
// random agents of the 10,000 and places pending instances in order until
// the offers are used up; instances finish in FIFO order once 60,000 run.
// It reports the p99 and p50 wall time of a cycle.
func BenchmarkPlacementCycle(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	agents, asks := benchCluster()
	e := NewChain(Config{})
	rng := rand.New(rand.NewPCG(3, 4))
	type run struct{ group, host string }
	running := make([]run, 0, 70000)
	head, next := 0, 0
	times := make([]time.Duration, 0, 1024)
	placed := 0
	oneCycle := func() {
		e.BeginCycle()
		for k := 0; k < 1000; k++ {
			e.Offer(agents[rng.IntN(len(agents))])
		}
		for tries := 0; e.Open() > 0 && tries < 20000; tries++ {
			a := asks[next]
			next++
			if next == len(asks) {
				next = 0
			}
			if r := e.Place(a); r.Code == Placed {
				running = append(running, run{a.Group, r.Hostname})
				placed++
			}
		}
		for len(running)-head > 60000 {
			e.RemoveRunning(running[head].group, running[head].host)
			head++
		}
		if head > 30000 {
			running = append(running[:0], running[head:]...)
			head = 0
		}
	}
	for k := 0; k < 20; k++ {
		oneCycle()
	}
	placed = 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		oneCycle()
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(placed)/float64(b.N), "placed/cycle")
}

// BenchmarkPlacementNaive is the comparison: every pending instance checked
// against every offer (constraints evaluated afresh, counts by scanning),
// best score over all. Each op is one placement attempt.
func BenchmarkPlacementNaive(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	agents, asks := benchCluster()
	type offer struct {
		a    *Agent
		left Resources
	}
	offers := make([]offer, len(agents))
	reset := func() {
		for i, a := range agents {
			offers[i] = offer{a, a.Reserved.Add(a.Unreserved)}
		}
	}
	// counts[group][field][value]
	counts := map[string]map[string]map[string]int{}
	zones := map[string]bool{}
	for _, a := range agents {
		zones[a.Attrs["zone"]] = true
	}
	reset()
	placed := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := asks[i%len(asks)]
		if i%len(asks) == 0 && i > 0 {
			reset()
			clear(counts)
		}
		gc := counts[a.Group]
		best, bestScore := -1, -1.0
		for k := range offers {
			o := &offers[k]
			if !o.left.Covers(a.Resources) {
				continue
			}
			ok := true
			if a.Constraints != nil {
				for ci := range a.Constraints.List {
					c := &a.Constraints.List[ci]
					v, has := lookup(o.a.Attrs, c.Field, o.a.Hostname)
					switch c.Op {
					case OpUnique:
						ok = has && gc[c.Field][v] == 0
					case OpMaxPer:
						ok = has && gc[c.Field][v] < c.n
					case OpGroupBy:
						minc := -1
						for z := range zones {
							if n := gc[c.Field][z]; minc < 0 || n < minc {
								minc = n
							}
						}
						ok = has && gc[c.Field][v] <= minc
					default:
						ok = c.Satisfies(o.a.Attrs, o.a.Hostname)
					}
					if !ok {
						break
					}
				}
			}
			if !ok {
				continue
			}
			capc := o.a.Reserved.Add(o.a.Unreserved)
			s := (capc.CPUs-o.left.CPUs+a.Resources.CPUs)/capc.CPUs + (capc.Mem-o.left.Mem+a.Resources.Mem)/capc.Mem
			if s > bestScore {
				best, bestScore = k, s
			}
		}
		if best >= 0 {
			o := &offers[best]
			o.left = o.left.Sub(a.Resources)
			placed++
			if a.Constraints.Counting() {
				if gc == nil {
					gc = map[string]map[string]int{}
					counts[a.Group] = gc
				}
				for _, ci := range a.Constraints.countingIdx {
					c := &a.Constraints.List[ci]
					v, _ := lookup(o.a.Attrs, c.Field, o.a.Hostname)
					if gc[c.Field] == nil {
						gc[c.Field] = map[string]int{}
					}
					gc[c.Field][v]++
				}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
}
