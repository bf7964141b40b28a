package placement

import (
	"strings"
	"testing"
	"time"
)

func keys(asks []*Ask) string {
	var b []string
	for _, a := range asks {
		b = append(b, a.Key)
	}
	return strings.Join(b, " ")
}

func TestOrder(t *testing.T) {
	total := Resources{CPUs: 100, Mem: 100000}
	ask := func(key string, prio int, queue, user string, seq uint64, cpus float64) *Ask {
		return &Ask{Key: key, Priority: prio, Queue: queue, User: user, Seq: seq, Resources: res(cpus, 100)}
	}
	cases := []struct {
		name  string
		cfg   FairConfig
		usage map[[2]string]Resources
		asks  []*Ask
		want  string
	}{
		{"fifo within one user", FairConfig{Total: total}, nil,
			[]*Ask{ask("a1", 0, "q", "u", 1, 1), ask("a2", 0, "q", "u", 2, 1), ask("a3", 0, "q", "u", 3, 1)},
			"a1 a2 a3"},
		{"priority first", FairConfig{Total: total}, nil,
			[]*Ask{ask("low", 0, "q", "u", 1, 1), ask("high", 5, "q", "v", 2, 1)},
			"high low"},
		{"users interleave by dominant share", FairConfig{Total: total}, nil,
			[]*Ask{ask("a1", 0, "q", "alice", 1, 10), ask("a2", 0, "q", "alice", 2, 10), ask("a3", 0, "q", "alice", 3, 10),
				ask("b1", 0, "q", "bob", 4, 10), ask("b2", 0, "q", "bob", 5, 10)},
			"a1 b1 a2 b2 a3"},
		{"existing usage goes last", FairConfig{Total: total}, map[[2]string]Resources{{"q", "alice"}: res(50, 0)},
			[]*Ask{ask("a1", 0, "q", "alice", 1, 10), ask("b1", 0, "q", "bob", 2, 10), ask("b2", 0, "q", "bob", 3, 10)},
			"b1 b2 a1"},
		{"dominant resource is memory", FairConfig{Total: total}, map[[2]string]Resources{{"q", "alice"}: res(1, 60000), {"q", "bob"}: res(30, 0)},
			[]*Ask{ask("a1", 0, "q", "alice", 1, 1), ask("b1", 0, "q", "bob", 2, 1)},
			"b1 a1"},
		{"weights", FairConfig{Total: total, UserWeights: map[string]float64{"alice": 2}}, nil,
			[]*Ask{ask("a1", 0, "q", "alice", 1, 10), ask("a2", 0, "q", "alice", 2, 10), ask("a3", 0, "q", "alice", 3, 10),
				ask("b1", 0, "q", "bob", 4, 10), ask("b2", 0, "q", "bob", 5, 10)},
			// alice's share counts half: a1 (0 vs 0, FIFO), b1, a2 (.05<.1), a3 (.1=.1, FIFO a3<b2), b2
			"a1 b1 a2 a3 b2"},
		{"queues before users", FairConfig{Total: total}, map[[2]string]Resources{{"etl", "carol"}: res(40, 0)},
			[]*Ask{ask("e1", 0, "etl", "dave", 1, 10), ask("m1", 0, "ml", "carol", 2, 10)},
			// carol has the larger user share but queue ml is emptier
			"m1 e1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := keys(Order(tc.cfg, tc.usage, tc.asks)); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestFairOnlyChargesPlaced(t *testing.T) {
	f := NewFair(FairConfig{Total: res(100, 1000)})
	a1 := &Ask{Key: "a1", User: "alice", Seq: 1, Resources: res(10, 0)}
	a2 := &Ask{Key: "a2", User: "alice", Seq: 2, Resources: res(10, 0)}
	b1 := &Ask{Key: "b1", User: "bob", Seq: 3, Resources: res(10, 0)}
	f.Reset([]*Ask{a1, a2, b1})
	if f.Next() != a1 { // not placed: alice's share stays 0
		t.Fatal("first")
	}
	if n := f.Next(); n != a2 {
		t.Fatalf("second %v", n.Key)
	}
	if f.Next() != b1 || f.Next() != nil {
		t.Fatal("tail")
	}
	// Reuse across cycles.
	f.Reset([]*Ask{b1, a1})
	if f.Next() != a1 {
		t.Fatal("reset order")
	}
	if err := (FairConfig{UserWeights: map[string]float64{"x": 0}}).Validate(); err == nil || !strings.Contains(err.Error(), "user_weights.x") {
		t.Fatalf("validate: %v", err)
	}
}

func TestPlanPreemption(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
	v := func(key, host string, prio int, cpus float64, minutes int) Victim {
		return Victim{Key: key, Hostname: host, Priority: prio, Resources: res(cpus, 100), Started: ago(minutes)}
	}
	high := &Ask{Key: "hi", Priority: 10, Resources: res(4, 100)}
	cases := []struct {
		name     string
		hosts    []HostRoom
		running  []Victim
		feasible func(string) bool
		wantHost string
		want     string // victim keys, sorted by plan order
		ok       bool
	}{
		{"shortest running first", nil,
			[]Victim{v("old", "h1", 0, 4, 60), v("new", "h1", 0, 4, 5)}, nil, "h1", "new", true},
		{"never more than needed", nil,
			// shortest first takes s1 (1 cpu) s2 (1) then big (4): prune s1, s2
			[]Victim{v("s1", "h1", 0, 1, 1), v("s2", "h1", 0, 1, 2), v("big", "h1", 0, 4, 3)}, nil, "h1", "big", true},
		{"free room counts", []HostRoom{{"h1", res(3, 1000)}},
			[]Victim{v("a", "h1", 0, 2, 10), v("b", "h1", 0, 1, 20)}, nil, "h1", "a", true},
		{"equal or higher priority is safe", nil,
			[]Victim{v("peer", "h1", 10, 8, 1), v("boss", "h1", 20, 8, 1)}, nil, "", "", false},
		{"not enough even with all", nil,
			[]Victim{v("a", "h1", 0, 1, 1), v("b", "h1", 0, 2, 1)}, nil, "", "", false},
		{"least work lost across hosts", nil,
			[]Victim{v("h1a", "h1", 0, 4, 30), v("h2a", "h2", 0, 2, 5), v("h2b", "h2", 0, 2, 6)}, nil, "h2", "h2a h2b", true},
		{"infeasible hosts skipped", nil,
			[]Victim{v("h1a", "h1", 0, 4, 30), v("h2a", "h2", 0, 4, 1)}, func(h string) bool { return h != "h2" }, "h1", "h1a", true},
		{"host that already fits is not a preemption", []HostRoom{{"h1", res(8, 1000)}},
			[]Victim{v("a", "h1", 0, 4, 1)}, nil, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := PlanPreemption(high, now, tc.hosts, tc.running, tc.feasible)
			if ok != tc.ok {
				t.Fatalf("ok %v want %v (%+v)", ok, tc.ok, p)
			}
			if !ok {
				return
			}
			var ks []string
			var lost time.Duration
			for _, v := range p.Victims {
				ks = append(ks, v.Key)
				lost += now.Sub(v.Started)
			}
			if p.Hostname != tc.wantHost || strings.Join(ks, " ") != tc.want || p.WorkLost != lost {
				t.Fatalf("got %s %v lost %v, want %s %s", p.Hostname, ks, p.WorkLost, tc.wantHost, tc.want)
			}
		})
	}
}

// TestPreemptionMinimal is property-style: for random victim sets the plan
// frees enough and dropping any one victim would not.
func TestPreemptionMinimal(t *testing.T) {
	now := time.Unix(1e9, 0)
	for seed := 0; seed < 200; seed++ {
		var running []Victim
		for i := 0; i < 1+seed%9; i++ {
			running = append(running, Victim{Key: string(rune('a' + i)), Hostname: "h", Priority: i % 3,
				Resources: res(float64(1+(seed*7+i*3)%5), float64(10*(1+(seed+i)%4))), Started: now.Add(-time.Duration(1+(seed*13+i*5)%50) * time.Second)})
		}
		need := &Ask{Priority: 2, Resources: res(float64(1+seed%6), 20)}
		p, ok := PlanPreemption(need, now, nil, running, nil)
		if !ok {
			continue
		}
		var got Resources
		for _, v := range p.Victims {
			if v.Priority >= need.Priority {
				t.Fatalf("seed %d: victim %s priority %d", seed, v.Key, v.Priority)
			}
			got = got.Add(v.Resources)
		}
		if !got.Covers(need.Resources) {
			t.Fatalf("seed %d: frees %v < %v", seed, got, need.Resources)
		}
		for _, v := range p.Victims {
			if got.Sub(v.Resources).Covers(need.Resources) {
				t.Fatalf("seed %d: victim %s not needed", seed, v.Key)
			}
		}
	}
}
