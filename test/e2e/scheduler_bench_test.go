package e2e

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// BenchmarkSchedulerEndToEnd runs jobs of short simulated tasks on 100
// local agents with etcd persistence and reports launches/s (submit to
// every instance succeeded, so each launch also includes its two stored
// status updates) and the p99 of OFFERS→last ACCEPT over offer cycles that
// started with at least 1,000 pending instances.
func BenchmarkSchedulerEndToEnd(b *testing.B) {
	const instances = 20000
	env := newSchedEnv(b, localmesos.Config{Agents: 100, Simulated: true, Resources: "cpus:32;mem:65536;disk:10240"})
	var mu sync.Mutex
	var cycles, accepts []time.Duration
	n, _ := env.startNode("bench", func(c *node.Config) {
		c.Framework.OfferAccepted = func(d time.Duration, pending int) {
			mu.Lock()
			accepts = append(accepts, d)
			mu.Unlock()
		}
		c.Framework.OfferCycle = func(d time.Duration, pending int) {
			if pending >= 1000 {
				mu.Lock()
				cycles = append(cycles, d)
				mu.Unlock()
			}
		}
	})
	sp := mustSpec(b, fmt.Sprintf(`
name: bench
tasks:
  - name: work
    command: "true"
    resources: {cpus: 0.1, mem: 32}
    instances: %d
`, instances))
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		j := submit(b, []*node.Node{n}, sp)
		waitFor(b, "the job to finish", 5*time.Minute, func() bool { return !n.Scheduling(j.ID) })
		total += time.Since(start)
		st, _ := status(b, n, j.ID)
		if st.State != job.Succeeded {
			b.Fatalf("job %s", st.State)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(instances*b.N)/total.Seconds(), "launches/s")
	mu.Lock()
	defer mu.Unlock()
	p99 := func(ds []time.Duration) float64 {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return float64(ds[(len(ds)*99)/100].Microseconds()) / 1000
	}
	if len(cycles) > 0 {
		b.ReportMetric(p99(cycles), "cycle-p99-ms")
		b.ReportMetric(float64(len(cycles)), "cycles")
	}
	if len(accepts) > 0 {
		b.ReportMetric(p99(accepts), "accept-p99-ms")
	}
}

// BenchmarkSchedulerOfferLatency measures OFFERS→ACCEPT per offer while at
// least 1,000 instances are pending: 100 agents that each fit one task, so
// every offer cycle carries 100 offers and one launch per offer; each
// launch is stored in etcd before its ACCEPT. decide-p99-ms is the engine's
// matching time alone.
func BenchmarkSchedulerOfferLatency(b *testing.B) {
	env := newSchedEnv(b, localmesos.Config{Agents: 100, Simulated: true, Resources: "cpus:1;mem:1024;disk:1024"})
	var mu sync.Mutex
	var accepts []time.Duration
	n, _ := env.startNode("bench", func(c *node.Config) {
		c.Framework.OfferAccepted = func(d time.Duration, pending int) {
			if pending >= 1000 {
				mu.Lock()
				accepts = append(accepts, d)
				mu.Unlock()
			}
		}
	})
	sp := mustSpec(b, `
name: latency
tasks:
  - name: work
    command: "true"
    resources: {cpus: 1, mem: 32}
    instances: 3000
`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := submit(b, []*node.Node{n}, sp)
		waitFor(b, "the job to finish", 5*time.Minute, func() bool { return !n.Scheduling(j.ID) })
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if len(accepts) == 0 {
		b.Fatal("no offers accepted with 1000 pending")
	}
	sort.Slice(accepts, func(i, j int) bool { return accepts[i] < accepts[j] })
	b.ReportMetric(float64(accepts[(len(accepts)*99)/100].Microseconds())/1000, "accept-p99-ms")
	b.ReportMetric(float64(accepts[len(accepts)/2].Microseconds())/1000, "accept-p50-ms")
	b.ReportMetric(float64(len(accepts)), "accepts")
}
