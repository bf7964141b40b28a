package evict

import (
	"reflect"
	"testing"
	"time"
)

func TestChoose(t *testing.T) {
	now := time.Date(2026, 11, 21, 21, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	c := func(id string, prio int, started time.Time, cpus, mem float64) Candidate {
		return Candidate{TaskID: id, Priority: prio, Started: started, CPUs: cpus, MemMB: mem}
	}
	for _, tc := range []struct {
		name  string
		cands []Candidate
		need  Need
		want  []string
	}{
		{"nothing to free", []Candidate{c("a", 1, ago(time.Hour), 1, 100)}, Need{}, nil},
		{"no candidates", nil, Need{MemMB: 100}, nil},
		{"lowest priority first", []Candidate{
			c("hi", 500, ago(time.Minute), 1, 512), c("lo", 10, ago(time.Hour), 1, 512),
		}, Need{MemMB: 500}, []string{"lo"}},
		{"same priority: shortest running first", []Candidate{
			c("old", 100, ago(time.Hour), 1, 512), c("new", 100, ago(time.Minute), 1, 512), c("mid", 100, ago(10*time.Minute), 1, 512),
		}, Need{MemMB: 1000}, []string{"new", "mid"}},
		{"launching has lost nothing", []Candidate{
			c("run", 100, ago(time.Second), 1, 512), c("launch", 100, time.Time{}, 1, 512),
		}, Need{MemMB: 100}, []string{"launch"}},
		{"only as many as needed", []Candidate{
			c("a", 1, ago(time.Minute), 0.5, 256), c("b", 1, ago(2*time.Minute), 0.5, 256), c("c", 1, ago(3*time.Minute), 0.5, 256),
		}, Need{CPUs: 0.9}, []string{"a", "b"}},
		{"exact amount is enough", []Candidate{
			c("a", 1, ago(time.Minute), 0.1, 100), c("b", 1, ago(2*time.Minute), 0.2, 200),
		}, Need{CPUs: 0.1, MemMB: 100}, []string{"a"}},
		{"a candidate freeing nothing missing is passed over", []Candidate{
			c("cpuonly", 1, ago(time.Minute), 2, 0), c("memtoo", 5, ago(time.Hour), 0.1, 1024),
		}, Need{MemMB: 1000}, []string{"memtoo"}},
		{"superfluous small victim dropped", []Candidate{
			// small (priority 1) is chosen first but big (priority 2) alone suffices.
			c("small", 1, ago(time.Minute), 0.1, 100), c("big", 2, ago(time.Minute), 1, 2000),
		}, Need{MemMB: 1500}, []string{"big"}},
		{"both resources", []Candidate{
			c("cpu", 1, ago(time.Minute), 2, 10), c("mem", 2, ago(time.Minute), 0.1, 900), c("spare", 3, ago(time.Minute), 1, 1000),
		}, Need{CPUs: 1, MemMB: 800}, []string{"cpu", "mem"}},
		{"not enough: all that helps", []Candidate{
			c("a", 1, ago(time.Minute), 0.5, 100), c("b", 1, ago(time.Hour), 0, 100), c("cpu", 1, ago(time.Hour), 1, 0),
		}, Need{MemMB: 1000}, []string{"a", "b"}},
		{"tie broken by task id", []Candidate{
			c("y", 1, ago(time.Minute), 1, 100), c("x", 1, ago(time.Minute), 1, 100),
		}, Need{CPUs: 1}, []string{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]Candidate(nil), tc.cands...)
			var got []string
			for _, v := range Choose(tc.cands, tc.need, now) {
				got = append(got, v.TaskID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Choose = %v, want %v", got, tc.want)
			}
			if !reflect.DeepEqual(in, tc.cands) {
				t.Fatal("Choose changed its input")
			}
		})
	}
}
