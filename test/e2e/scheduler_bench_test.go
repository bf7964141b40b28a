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
	if len(cycles) > 0 {
		b.ReportMetric(percentileMs(cycles, 99), "cycle-p99-ms")
		b.ReportMetric(float64(len(cycles)), "cycles")
	}
	if len(accepts) > 0 {
		b.ReportMetric(percentileMs(accepts, 99), "accept-p99-ms")
	}
}

// BenchmarkSchedulerOfferLatency measures OFFERS→ACCEPT per offer while at
// least 1,000 instances are pending: 100 agents that each fit one task, so
// the first offer cycle carries 100 offers and one launch per offer; each
// launch is stored in etcd before its ACCEPT.
//
// Before Gleaner, in the same run and on a fresh local Mesos of the same
// shape, the minimal framework of BenchmarkSchedulerShareOfCeiling (no
// scheduling logic, nothing stored) runs the same job: raw-accept-p99-ms
// is what this machine's local Mesos leaves of the goal with no framework
// logic at all. Both tails are bursts of 100 ACCEPTs sent while the first
// tasks' updates come back: Gleaner's first cycle, and every cycle of the
// minimal framework (its tasks end together, and their agents come back in
// one offer cycle).
func BenchmarkSchedulerOfferLatency(b *testing.B) {
	const instances, pendingAtLeast = 3000, 1000
	cluster := localmesos.Config{Agents: 100, Simulated: true, Resources: "cpus:1;mem:1024;disk:1024"}
	var mu sync.Mutex
	var raw, accepts []time.Duration
	minimalJob := func(into *[]time.Duration) ceilingJob {
		return ceilingJob{cluster: cluster, instances: instances, cpus: 1, mem: 32,
			accepted: func(d time.Duration, pending int64) {
				if pending >= pendingAtLeast {
					mu.Lock()
					*into = append(*into, d)
					mu.Unlock()
				}
			}}
	}
	// One untimed run first, as the share benchmark: the first run in a
	// fresh process is slower, and it would otherwise be the raw floor's.
	rawCeilingRun(b, minimalJob(new([]time.Duration)))
	var n *node.Node
	sp := mustSpec(b, fmt.Sprintf(`
name: latency
tasks:
  - name: work
    command: "true"
    resources: {cpus: 1, mem: 32}
    instances: %d
`, instances))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rawCeilingRun(b, minimalJob(&raw))
		if n == nil {
			// Started after the minimal framework's run, so it takes
			// no offers beside it.
			env := newSchedEnv(b, cluster)
			n, _ = env.startNode("bench", func(c *node.Config) {
				c.Framework.OfferAccepted = func(d time.Duration, pending int) {
					if pending >= pendingAtLeast {
						mu.Lock()
						accepts = append(accepts, d)
						mu.Unlock()
					}
				}
			})
			waitFor(b, "the node to subscribe", time.Minute, func() bool { return n.Subscribed() })
		}
		b.StartTimer()
		j := submit(b, []*node.Node{n}, sp)
		waitFor(b, "the job to finish", 5*time.Minute, func() bool { return !n.Scheduling(j.ID) })
		b.StopTimer()
	}
	mu.Lock()
	defer mu.Unlock()
	for _, side := range []struct {
		name string
		ds   []time.Duration
	}{{"minimal framework", raw}, {"Gleaner", accepts}} {
		if len(side.ds) == 0 {
			b.Fatalf("%s: no offers accepted with %d pending", side.name, pendingAtLeast)
		}
	}
	b.ReportMetric(percentileMs(accepts, 99), "accept-p99-ms")
	b.ReportMetric(percentileMs(accepts, 50), "accept-p50-ms")
	b.ReportMetric(float64(len(accepts)), "accepts")
	b.ReportMetric(percentileMs(raw, 99), "raw-accept-p99-ms")
	b.ReportMetric(percentileMs(raw, 50), "raw-accept-p50-ms")
	b.ReportMetric(percentileMs(accepts, 99)/percentileMs(raw, 99), "accept-p99-over-raw")
}

// percentileMs is the p-th percentile of ds (the value at index
// len(ds)*p/100 once sorted) in milliseconds; it sorts ds.
func percentileMs(ds []time.Duration, p int) float64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return float64(ds[len(ds)*p/100].Microseconds()) / 1000
}
