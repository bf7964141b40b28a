package placement

import "testing"

// TestStaticFit checks the one static-feasibility rule, and that the chain's
// cached form (Feasible, the never-fits verdict) agrees with it.
func TestStaticFit(t *testing.T) {
	big := Resources{CPUs: 8, Mem: 8192}
	ask := Resources{CPUs: 1, Mem: 512}
	agent := &Agent{ID: "a1", Hostname: "h1", Attrs: map[string]string{"zone": "a", "rack": "r1"}, Capacity: big, Unreserved: big}
	cases := []struct {
		name   string
		raw    [][]string
		res    Resources
		fits   bool
		failed int
	}{
		{"no constraints", nil, ask, true, -1},
		{"attribute holds", [][]string{{"zone", "IS", "a"}}, ask, true, -1},
		{"attribute fails", [][]string{{"rack", "LIKE", "r.*"}, {"zone", "IS", "b"}}, ask, false, 1},
		{"hostname fails", [][]string{{"hostname", "UNLIKE", "h.*"}}, ask, false, 0},
		{"counted field exists", [][]string{{"rack", "MAX_PER", "1"}}, ask, true, -1},
		{"counted field missing", [][]string{{"zone", "IS", "a"}, {"gpu", "GROUP_BY"}}, ask, false, 1},
		{"cluster value differs", [][]string{{"zone", "CLUSTER", "b"}}, ask, false, 0},
		{"too big for capacity", [][]string{{"zone", "IS", "a"}}, Resources{CPUs: 16}, false, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cs *Constraints
			if tc.raw != nil {
				var err error
				if cs, err = ParseConstraints(tc.raw); err != nil {
					t.Fatal(err)
				}
			}
			fits, failed := StaticFit(cs, tc.res, agent)
			if fits != tc.fits || failed != tc.failed {
				t.Fatalf("StaticFit = %v, %d; want %v, %d", fits, failed, tc.fits, tc.failed)
			}
			c := NewChain(Config{})
			c.Observe(agent)
			if got := c.Feasible(&Ask{Resources: tc.res, Constraints: cs, Group: "g"}, "h1"); got != tc.fits {
				t.Fatalf("Chain.Feasible = %v, StaticFit = %v", got, tc.fits)
			}
			c.BeginCycle()
			c.Offer(agent)
			r := c.Place(&Ask{Resources: tc.res, Constraints: cs, Group: "g"})
			if placed := r.Code == Placed; placed != tc.fits {
				t.Fatalf("Place code %v, StaticFit = %v", r.Code, tc.fits)
			}
			if !tc.fits && r.Code != UnschedulableForever {
				t.Fatalf("Place code %v for an ask no agent can ever hold, want UnschedulableForever", r.Code)
			}
		})
	}
}
