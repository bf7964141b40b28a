package engine

import (
	"runtime"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// BenchmarkEngineMemoryPerFinishedInstance reports the scheduler memory a
// finished instance keeps (B/finished): 200,000 instances of a
// 1,000,000-instance task run to success; only the task's counts remember
// them.
func BenchmarkEngineMemoryPerFinishedInstance(b *testing.B) {
	const n = 1_000_000
	const finished = 200_000
	var per float64
	for i := 0; i < b.N; i++ {
		e := New(nil)
		e.AddJob(hugeJob(n))
		before := heapInUse()
		for done := 0; done < finished; {
			ls := e.Plan([]Offer{offer("a", 1000, 1e9)})
			batch := make([]Status, 0, len(ls))
			for _, l := range ls {
				batch = append(batch, Status{TaskID: l.Attempt.TaskID(), State: mesos.TASK_FINISHED})
			}
			for _, o := range e.ObserveAll(batch) {
				e.Commit(*o.Attempt)
			}
			done += len(ls)
		}
		after := heapInUse()
		per = (float64(after) - float64(before)) / finished
		if per < 0 {
			per = 0
		}
		if got := e.PendingCount(); got != n-finished {
			b.Fatalf("pending %d", got)
		}
		runtime.KeepAlive(e)
	}
	b.ReportMetric(per, "B/finished")
}
