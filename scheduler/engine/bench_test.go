package engine

import (
	"runtime"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func hugeJob(n int) *job.Job {
	return &job.Job{ID: "huge", Submitted: time.Unix(1, 0), Spec: job.Spec{Name: "huge", Tasks: []job.TaskSpec{
		{Name: "t", Command: "true", Instances: n, Retries: 3, Resources: res(0.1, 16)},
	}}}
}

// BenchmarkEngineMemoryPerPendingInstance reports the scheduler memory a
// pending instance costs: B/pending for a 1,000,000-instance task that
// never ran, and B/requeued for instances that ran once and were lost
// (they keep their attempt record and sit in the requeue list).
func BenchmarkEngineMemoryPerPendingInstance(b *testing.B) {
	const n = 1_000_000
	const requeued = 100_000
	var perPending, perRequeued float64
	for i := 0; i < b.N; i++ {
		before := heapInUse()
		e := New(nil)
		e.AddJob(hugeJob(n))
		after := heapInUse()
		perPending = float64(after-before) / n
		// Launch and lose 100,000 instances: they are pending again.
		var ls []Launch
		for len(ls) < requeued {
			ls = append(ls, e.Plan([]Offer{offer("a", 1000, 1e9)})...)
		}
		var batch []Status
		for _, l := range ls {
			batch = append(batch, Status{TaskID: l.Attempt.TaskID(), State: mesos.TASK_LOST})
		}
		for _, o := range e.ObserveAll(batch) {
			e.Commit(*o.Attempt)
		}
		batch, ls = nil, nil
		withRequeued := heapInUse()
		perRequeued = float64(withRequeued-after) / float64(requeued)
		if e.PendingCount() != n {
			b.Fatalf("pending = %d, want %d", e.PendingCount(), n)
		}
		runtime.KeepAlive(e)
	}
	b.ReportMetric(perPending, "B/pending")
	b.ReportMetric(perRequeued, "B/requeued")
}

// BenchmarkEnginePlan is the matching cost of one offer cycle: 100 offers
// of 10 slots each against a job with plenty pending (decision only, no I/O).
func BenchmarkEnginePlan(b *testing.B) {
	offers := make([]Offer, 100)
	for i := range offers {
		offers[i] = offer(string(rune('a'+i%26))+string(rune('a'+i/26)), 1, 1600)
	}
	e := New(nil)
	e.AddJob(hugeJob(10_000_000))
	b.ResetTimer()
	placed := 0
	for i := 0; i < b.N; i++ {
		placed += len(e.Plan(offers))
	}
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
}

// launchRunning launches running instances of a 1,000,000-instance task
// through Cycle, sends them (MarkSent) and reports them RUNNING through
// DecideUpdates/ApplyUpdates, as the framework does.
func launchRunning(b *testing.B, e *Engine, running int) {
	b.Helper()
	for launched := 0; launched < running; {
		d := e.Cycle([]Offer{offer("a", 1000, 1e9)}, CyclePolicy{})
		ls := d.Launches[0]
		if len(ls) == 0 {
			b.Fatalf("no launch after %d", launched)
		}
		if len(ls) > running-launched {
			e.Forget(ls[running-launched:])
			ls = ls[:running-launched]
		}
		ids := make([]string, len(ls))
		batch := make([]Status, len(ls))
		for k, l := range ls {
			ids[k] = l.Attempt.TaskID()
			batch[k] = Status{TaskID: ids[k], State: mesos.TASK_RUNNING, AgentID: l.Attempt.AgentID}
		}
		e.MarkSent(ids)
		u := e.DecideUpdates(batch)
		e.ApplyUpdates(&u)
		launched += len(ls)
	}
}

// BenchmarkEngineTickWhileRunning times one Tick (the framework's, every
// 200 ms) with 100,000 instances running, none of them due anything: a
// task without a timeout, in a job neither failing nor doomed.
func BenchmarkEngineTickWhileRunning(b *testing.B) {
	benchmarkTick(b, 0)
}

// BenchmarkEngineTickWhileRunningWithTimeout is the same with a task
// timeout of an hour: its attempts are looked at again only when one can
// be due.
func BenchmarkEngineTickWhileRunningWithTimeout(b *testing.B) {
	benchmarkTick(b, time.Hour)
}

func benchmarkTick(b *testing.B, timeout time.Duration) {
	e := New(nil)
	j := hugeJob(1_000_000)
	j.Spec.Tasks[0].Timeout = job.Duration(timeout)
	e.AddJob(j)
	launchRunning(b, e, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := e.Tick(); len(r.Kill) != 0 {
			b.Fatalf("Tick killed %d attempts", len(r.Kill))
		}
	}
}

// BenchmarkEngineMemoryPerRunningInstance reports the scheduler memory a
// running instance costs (B/running): 100,000 instances of a
// 1,000,000-instance task launched through Cycle, sent (MarkSent) and
// reported RUNNING through DecideUpdates/ApplyUpdates, as the framework
// does; live heap after GC, less the heap before the launches.
func BenchmarkEngineMemoryPerRunningInstance(b *testing.B) {
	const n = 1_000_000
	const running = 100_000
	var per float64
	for i := 0; i < b.N; i++ {
		e := New(nil)
		e.AddJob(hugeJob(n))
		before := heapInUse()
		launchRunning(b, e, running)
		after := heapInUse()
		per = (float64(after) - float64(before)) / running
		if got := len(e.Active()); got != running {
			b.Fatalf("active %d, want %d", got, running)
		}
		if a, ok := e.ActiveAttempt(job.TaskID("huge", "t", running-1, 0)); !ok || a.State != job.AttemptRunning {
			b.Fatalf("instance %d: %+v, %v; want running", running-1, a, ok)
		}
		runtime.KeepAlive(e)
	}
	b.ReportMetric(per, "B/running")
}
