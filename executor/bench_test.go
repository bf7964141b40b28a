package executor_test

import (
	"sort"
	"strconv"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

// BenchmarkLaunchInProcess measures LAUNCH → TASK_RUNNING through the fake
// agent for a cached bundle, with the executor in this process (the helper is
// the test binary). test/e2e's BenchmarkLaunch measures the real binary.
func BenchmarkLaunchInProcess(b *testing.B) {
	h := startB(b)
	h.launch("warm", payload("true", true, nil))
	if _, err := h.agent.Terminal("warm", 30*time.Second); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := "b" + strconv.Itoa(i)
		t0 := time.Now()
		h.launch(id, payload("true", true, func(p *gleanerpb.TaskPayload) {}))
		if _, err := h.agent.WaitState(id, mesos.TASK_RUNNING, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if _, err := h.agent.Terminal(id, 30*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
