package localmesos

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/callrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/eventrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/store"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// BenchmarkLocalMesosLaunch measures end-to-end task launches per second in
// simulated-tasks mode with 100 agents: a minimal mesos-go framework accepts
// every offer with as many LAUNCHes as fit, and a task counts once its
// TASK_FINISHED update is acknowledged (RUNNING is acknowledged too).
func BenchmarkLocalMesosLaunch(b *testing.B) {
	c := startRealCluster(b, Config{Agents: 100, Resources: "cpus:16;mem:16384", Simulated: true,
		AllocationInterval: 100 * time.Millisecond, HeartbeatInterval: time.Minute})
	b.ResetTimer()
	elapsed := runRawLaunches(b, c, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "launches/s")
}

// runRawLaunches runs total simulated tasks through a minimal mesos-go
// framework on c and returns how long they took, from subscription to the
// last TASK_FINISHED.
func runRawLaunches(b *testing.B, c *Cluster, total int) time.Duration {
	const taskCPU, taskMem = 0.1, 32.0
	var launched, finished atomic.Int64
	done := make(chan struct{})
	var doneOnce sync.Once

	fid := store.NewInMemorySingleton()
	cli := httpsched.NewCaller(httpcli.New(
		httpcli.Endpoint(c.MasterURL()+"/api/v1/scheduler"),
		httpcli.Codec(protobufCodec),
		httpcli.Do(httpcli.With(httpcli.Timeout(30*time.Second), httpcli.Transport(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 64
		}))),
	))
	caller := callrules.New(callrules.WithFrameworkID(store.GetIgnoreErrors(fid))).Caller(cli)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Calls go through a pool so acknowledgements do not serialize the
	// event loop, as a real framework's would not.
	work := make(chan *scheduler.Call, 1<<16)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for call := range work {
				if err := calls.CallNoData(ctx, caller, call); err != nil && ctx.Err() == nil {
					b.Errorf("%s: %v", call.GetType(), err)
				}
			}
		}()
	}
	onOffers := func(_ context.Context, e *scheduler.Event) error {
		for _, o := range e.Offers.Offers {
			var cpus, mem float64
			for _, r := range o.Resources {
				switch r.Name {
				case "cpus":
					cpus += r.GetScalar().GetValue()
				case "mem":
					mem += r.GetScalar().GetValue()
				}
			}
			n := int(min(cpus/taskCPU, mem/taskMem) + 1e-9)
			var tasks []mesos.TaskInfo
			for ; n > 0 && launched.Load() < int64(total); n-- {
				id := "t" + strconv.FormatInt(launched.Add(1), 10)
				tasks = append(tasks, mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
					Command:   &mesos.CommandInfo{Value: ptrS("exit 0")},
					Resources: mesostest.ResourcesLike(o, taskCPU, taskMem)})
			}
			if len(tasks) == 0 {
				work <- calls.Decline(o.ID).With(calls.RefuseSeconds(0))
				continue
			}
			work <- calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID)).With(calls.RefuseSeconds(0))
		}
		return nil
	}
	onUpdate := func(_ context.Context, e *scheduler.Event) error {
		st := e.Update.Status
		if len(st.UUID) > 0 {
			work <- calls.Acknowledge(st.AgentID.Value, st.TaskID.Value, st.UUID)
		}
		if st.GetState() == mesos.TASK_FINISHED {
			if finished.Add(1) == int64(total) {
				doneOnce.Do(func() { close(done) })
			}
		} else if st.GetState() != mesos.TASK_RUNNING {
			b.Errorf("task %s: %s %s", st.TaskID.Value, st.GetState(), st.GetMessage())
		}
		return nil
	}
	h := eventrules.New(controller.LiftErrors().DropOnError()).Handle(events.Handlers{
		scheduler.Event_SUBSCRIBED: controller.TrackSubscription(fid, 0),
		scheduler.Event_OFFERS:     events.HandlerFunc(onOffers),
		scheduler.Event_UPDATE:     events.HandlerFunc(onUpdate),
	}.Otherwise(events.NoopHandler.HandleEvent))

	start := time.Now()
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = controller.Run(ctx, &mesos.FrameworkInfo{User: "bench", Name: "bench"}, caller,
			controller.WithEventHandler(h), controller.WithFrameworkID(store.GetIgnoreErrors(fid)),
			controller.WithRegistrationTokens(mesostest.FastBackoff(ctx)))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("timed out: %d launched, %d finished of %d", launched.Load(), finished.Load(), total)
	}
	elapsed := time.Since(start)
	// Let the acknowledgements already queued go out before stopping.
	for deadline := time.Now().Add(time.Minute); len(work) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // poll: the pool signals nothing when it drains
	}
	cancel()
	<-runDone
	close(work)
	wg.Wait()
	return elapsed
}

// BenchmarkLocalMesosMemory measures what the local Mesos holds after a
// large simulated job, as issue 16 measured it (20 agents, 200,000
// instances of "true"; a master that kept every completed task held
// 2.2 GB): it runs the tasks once, whatever b.N (use -benchtime=1x), lets
// the Go runtime collect and return memory, and reports the heap in use and
// the process RSS. LOCALMESOS_MEM_TASKS overrides the task count;
// LOCALMESOS_MEM_PROFILE names a file for a heap profile taken then.
func BenchmarkLocalMesosMemory(b *testing.B) {
	total := 200000
	if v := os.Getenv("LOCALMESOS_MEM_TASKS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("LOCALMESOS_MEM_TASKS=%q: want a positive number", v)
		}
		total = n
	}
	c := startRealCluster(b, Config{Agents: 20, Resources: "cpus:16;mem:16384", Simulated: true,
		AllocationInterval: 100 * time.Millisecond, HeartbeatInterval: time.Minute})
	before := heapAndRSS(b)
	elapsed := runRawLaunches(b, c, total)
	// What is kept once every update is acknowledged, as after a job: an
	// agent holds a task until its terminal update is acknowledged.
	awaitAllAcknowledged(b, c)
	after := heapAndRSS(b)
	if path := os.Getenv("LOCALMESOS_MEM_PROFILE"); path != "" {
		writeHeapProfile(b, path) // while the cluster still holds what it keeps
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "launches/s")
	b.ReportMetric(float64(after.heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(after.rss)/(1<<20), "rss-MB")
	b.ReportMetric(float64(after.heap-before.heap)/float64(total), "heap-B/task")
	b.Logf("%d tasks in %s: heap in use %.1f MB (%.1f MB at start), RSS %.1f MB (%.1f MB at start)", total, elapsed.Round(time.Millisecond),
		float64(after.heap)/(1<<20), float64(before.heap)/(1<<20), float64(after.rss)/(1<<20), float64(before.rss)/(1<<20))
}

type memUse struct{ heap, rss int64 }

// heapAndRSS collects garbage, returns freed memory to the OS, and reads
// the Go heap in use and the process RSS (/proc/self/status VmRSS).
func heapAndRSS(b *testing.B) memUse {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out := memUse{heap: int64(ms.HeapInuse)}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status to read RSS from: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", v, err)
			}
			out.rss = kb << 10
		}
	}
	return out
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatalf("heap profile: %v", err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatalf("heap profile: %v", err)
	}
}

// awaitAllAcknowledged polls every agent's GET_TASKS until no task has an
// unacknowledged status update (status_update_uuid set), for up to a minute.
func awaitAllAcknowledged(b *testing.B, c *Cluster) {
	deadline := time.Now().Add(time.Minute)
	for {
		pending := 0
		for _, a := range c.Agents() {
			code, body, _ := rawPost(b, "http://"+a.Endpoint()+"/api/v1", "application/json", "application/json", "", []byte(`{"type":"GET_TASKS"}`))
			if code != http.StatusOK {
				b.Fatalf("GET_TASKS on %s: %d %s", a.Hostname(), code, body)
			}
			pending += strings.Count(body, `"status_update_uuid"`)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d status updates still unacknowledged after a minute", pending)
		}
		time.Sleep(50 * time.Millisecond) // poll: no event says the agents are done
	}
}
