package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// BenchmarkEtcdAttemptWriteLatency is the floor under
// BenchmarkSchedulerOfferLatency: an offer cycle stores its attempts in
// etcd before any ACCEPT, so OFFERS → ACCEPT is never faster than one
// store.PutAttempts. It writes one launching attempt record at a time
// (what an offer cycle of one launch writes) on the same etcd the
// scheduler benchmarks use, and reports the write's p50 and p99.
func BenchmarkEtcdAttemptWriteLatency(b *testing.B) {
	const samples = 2000
	srv := etcdtest.Start(b)
	st := store.NewEtcd(etcdtest.NewClient(b, srv), "")
	ctx := context.Background()
	lat := make([]time.Duration, 0, samples*b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := 0; k < samples; k++ {
			a := job.Attempt{Job: "floor-1", Task: "work", Index: i*samples + k, State: job.AttemptLaunching,
				AgentID: "agent-1", Hostname: "host-1", Created: time.Now()}
			start := time.Now()
			if err := st.PutAttempts(ctx, []job.Attempt{a}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
	}
	b.StopTimer()
	b.ReportMetric(percentileMs(lat, 50), "write-p50-ms")
	b.ReportMetric(percentileMs(lat, 99), "write-p99-ms")
}
