package matcher

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// benchCycle is one offer cycle as the scheduler core hands it to a
// matcher: 1,000 offers of agents with attributes and 100,000 pending
// instances in 100 tasks, a third of them constrained.
func benchCycle() ([]engine.Offer, []engine.Demand) {
	offers := make([]engine.Offer, 1000)
	for i := range offers {
		offers[i] = engine.Offer{ID: fmt.Sprint("o", i), AgentID: fmt.Sprint("a", i), Hostname: fmt.Sprintf("host-%04d", i),
			Available:  job.Resources{CPUs: 32, Mem: 131072, Disk: 1 << 20},
			Attributes: map[string]string{"zone": fmt.Sprint("z", i%5), "rack": fmt.Sprintf("r%03d", i%100), "disk": []string{"ssd", "hdd"}[i%2]}}
	}
	mixes := [][][]string{nil, nil, {{"zone", "IS", "z2"}}, nil, {{"disk", "IS", "ssd"}}, {{"rack", "MAX_PER", "20"}}}
	demands := make([]engine.Demand, 100)
	for i := range demands {
		demands[i] = engine.Demand{Job: fmt.Sprint("job", i), Task: "t", Count: 1000, Priority: i % 3, User: fmt.Sprint("u", i%7),
			Resources: job.Resources{CPUs: 0.25 * float64(1+i%4), Mem: 512}, Constraints: mixes[i%len(mixes)]}
	}
	return offers, demands
}

// BenchmarkMatcherCycle is one whole offer cycle through the placement
// matcher (fair order, constraints, counts) on one core: placements/s and
// the slowest cycle. Counts are reset after each cycle.
func BenchmarkMatcherCycle(b *testing.B) { benchMatch(b, New(Config{})) }

// BenchmarkFirstFitCycle is the same input through engine.FirstFit (no
// constraints, FIFO, whole runs per offer), for comparison.
func BenchmarkFirstFitCycle(b *testing.B) { benchMatch(b, engine.FirstFit{}) }

func benchMatch(b *testing.B, m engine.Matcher) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	offers, demands := benchCycle()
	placed := 0
	var worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		ps := m.Match(offers, demands)
		worst = max(worst, time.Since(start))
		b.StopTimer()
		for _, p := range ps {
			placed += p.Count
		}
		if pm, ok := m.(*Matcher); ok {
			for _, d := range demands {
				pm.JobDone(d.Job)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
	b.ReportMetric(float64(placed)/float64(b.N), "placed/cycle")
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-cycle-ms")
}
