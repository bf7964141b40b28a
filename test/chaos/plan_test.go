package chaos

import (
	"slices"
	"testing"
)

func TestFaultsSpreadEvenly(t *testing.T) {
	cases := []struct {
		name string
		plan Plan
		want []Fault // nil: check counts and spread only
	}{
		{name: "short", plan: Short, want: []Fault{LeaderKill, AgentRestart, MesosRestart, EtcdRestart, LeaderKill, AgentRestart, LeaderKill}},
		{name: "only kills", plan: Plan{LeaderKills: 3}, want: []Fault{LeaderKill, LeaderKill, LeaderKill}},
		{name: "nothing", plan: Plan{}, want: []Fault{}},
		{name: "long", plan: Long},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.plan.Faults()
			if c.want != nil && !slices.Equal(got, c.want) {
				t.Fatalf("Faults() = %v, want %v", got, c.want)
			}
			want := map[Fault]int{LeaderKill: c.plan.LeaderKills, AgentRestart: c.plan.AgentRestarts, MesosRestart: c.plan.MesosRestarts, EtcdRestart: c.plan.EtcdRestarts}
			seen := map[Fault][]int{}
			for i, f := range got {
				seen[f] = append(seen[f], i)
			}
			for f, n := range want {
				if len(seen[f]) != n {
					t.Errorf("%d %ss, want %d", len(seen[f]), f, n)
				}
				// Evenly spread: gaps between faults of one kind stay
				// within two slots of the even spacing.
				if n < 2 {
					continue
				}
				spacing := float64(len(got)) / float64(n)
				for i := 1; i < n; i++ {
					if gap := float64(seen[f][i] - seen[f][i-1]); gap < spacing-2.01 || gap > spacing+2.01 {
						t.Errorf("%ss at %v: gap %v, even spacing %.1f", f, seen[f], gap, spacing)
					}
				}
			}
		})
	}
}
