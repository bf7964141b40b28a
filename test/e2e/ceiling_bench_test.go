package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/callrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/eventrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/store"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// The cluster and the job both sides of BenchmarkSchedulerShareOfCeiling
// run: 100 simulated agents, 20,000 instances of 0.1 CPU and 32 MB.
var ceilingCluster = localmesos.Config{Agents: 100, Simulated: true, Resources: "cpus:32;mem:65536;disk:10240"}

const (
	ceilingInstances = 20000
	ceilingCPUs      = 0.1
	ceilingMem       = 32.0
)

// BenchmarkSchedulerShareOfCeiling measures, in one run, the raw ceiling —
// a minimal mesos-go framework with no scheduling logic (every offer
// accepted with as many LAUNCHes as fit, RUNNING and FINISHED acknowledged,
// nothing stored) — and Gleaner end to end with etcd persistence (submit to
// job succeeded), each on a fresh local Mesos of the same shape, and
// reports Gleaner's share of the ceiling.
//
// It also reports the CPU time this process spent per launch on each side
// (the local Mesos runs in it; etcd does not): on a shared machine the
// rates swing with the neighbours' load, the CPU per launch much less.
func BenchmarkSchedulerShareOfCeiling(b *testing.B) {
	var raw, gleaner, rawCPU, gleanerCPU time.Duration
	var updates, records float64
	for i := 0; i < b.N; i++ {
		c0 := processCPU()
		raw += rawCeilingRun(b)
		c1 := processCPU()
		u0, r0 := counterSum(b, "gleaner_status_updates_total"), counterSum(b, "gleaner_attempt_records_stored_total")
		gleaner += gleanerRun(b)
		c2 := processCPU()
		rawCPU += c1 - c0
		gleanerCPU += c2 - c1
		updates += counterSum(b, "gleaner_status_updates_total") - u0
		records += counterSum(b, "gleaner_attempt_records_stored_total") - r0
	}
	launches := float64(ceilingInstances * b.N)
	rawRate := launches / raw.Seconds()
	gleanerRate := launches / gleaner.Seconds()
	b.ReportMetric(rawRate, "ceiling-launches/s")
	b.ReportMetric(gleanerRate, "launches/s")
	b.ReportMetric(gleanerRate/rawRate, "share")
	b.ReportMetric(float64(rawCPU.Microseconds())/launches, "ceiling-cpu-us/launch")
	b.ReportMetric(float64(gleanerCPU.Microseconds())/launches, "cpu-us/launch")
	// Attempt records written to etcd per launch (the launching record,
	// then one per batch of a task's updates) and status updates received.
	b.ReportMetric(records/launches, "records-stored/launch")
	b.ReportMetric(updates/launches, "updates/launch")
}

// counterSum is the sum over all labels of a counter this process's
// scheduler registered (0 if it has no series yet).
func counterSum(b *testing.B, name string) float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gleanerRun runs the job through one scheduler node and returns the time
// from submit until it succeeded (its last attempt records stored).
func gleanerRun(b *testing.B) time.Duration {
	b.StopTimer()
	env := newSchedEnv(b, ceilingCluster)
	// Explicit reconciliation at its deployed period (a minute), not the
	// tests' 2 s: every round asks the master about every active attempt,
	// and its answers are status updates (68,000 UPDATEs for 40,000 updates
	// of 20,000 tasks at 2 s).
	n, _ := env.startNode("ceiling", func(c *node.Config) { c.Framework.ReconcileInterval = 0 })
	sp := mustSpec(b, fmt.Sprintf(`
name: ceiling
tasks:
  - name: work
    command: "true"
    resources: {cpus: %g, mem: %g}
    instances: %d
`, ceilingCPUs, ceilingMem, ceilingInstances))
	waitFor(b, "the node to subscribe", time.Minute, func() bool { return n.Subscribed() })
	b.StartTimer()
	start := time.Now()
	j := submit(b, []*node.Node{n}, sp)
	// The engine lets go of a job once its last records are stored, so
	// this waits for the same moment as reading the job's status would,
	// without reading 20,000 records from etcd every 20 ms meanwhile (a
	// client follows a job through the watch stream, not by polling).
	waitFor(b, "the job to finish", 5*time.Minute, func() bool { return !n.Scheduling(j.ID) })
	took := time.Since(start)
	b.StopTimer()
	st, _ := status(b, n, j.ID)
	if st.State != job.Succeeded {
		b.Fatalf("job %s", st.State)
	}
	return took
}

// rawCeilingRun launches the same instances with a minimal framework and
// returns the time from its subscription until the last TASK_FINISHED.
func rawCeilingRun(b *testing.B) time.Duration {
	b.StopTimer()
	cfg := ceilingCluster
	cfg.AllocationInterval = 100 * time.Millisecond
	cfg.Logger = testLogger(b)
	c, err := localmesos.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	var launched, finished atomic.Int64
	done := make(chan struct{})
	var doneOnce sync.Once
	var subscribed atomic.Int64 // unix nanos of SUBSCRIBED
	fid := store.NewInMemorySingleton()
	cli := httpsched.NewCaller(httpcli.New(
		httpcli.Endpoint(c.MasterURL()+"/api/v1/scheduler"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(30*time.Second), httpcli.Transport(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 64
		}))),
	))
	caller := callrules.New(callrules.WithFrameworkID(store.GetIgnoreErrors(fid))).Caller(cli)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Calls go through a pool so the event loop never waits on one.
	work := make(chan *scheduler.Call, 1<<16)
	var wg sync.WaitGroup
	defer func() { cancel(); close(work); wg.Wait() }()
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
			n := int(min(cpus/ceilingCPUs, mem/ceilingMem) + 1e-9)
			var tasks []mesos.TaskInfo
			for ; n > 0 && launched.Load() < ceilingInstances; n-- {
				id := "t" + strconv.FormatInt(launched.Add(1), 10)
				cmd := "true"
				tasks = append(tasks, mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
					Command: &mesos.CommandInfo{Value: &cmd}, Resources: mesostest.ResourcesLike(o, ceilingCPUs, ceilingMem)})
			}
			if len(tasks) == 0 {
				work <- calls.Decline(o.ID).With(calls.RefuseSeconds(1))
				continue
			}
			work <- calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID)).With(calls.RefuseSeconds(1))
		}
		return nil
	}
	onUpdate := func(_ context.Context, e *scheduler.Event) error {
		st := e.Update.Status
		if len(st.UUID) > 0 {
			work <- calls.Acknowledge(st.AgentID.Value, st.TaskID.Value, st.UUID)
		}
		switch st.GetState() {
		case mesos.TASK_FINISHED:
			if finished.Add(1) == ceilingInstances {
				doneOnce.Do(func() { close(done) })
			}
		case mesos.TASK_RUNNING, mesos.TASK_STARTING:
		default:
			b.Errorf("task %s: %s %s", st.TaskID.Value, st.GetState(), st.GetMessage())
		}
		return nil
	}
	track := controller.TrackSubscription(fid, 0)
	h := eventrules.New(controller.LiftErrors().DropOnError()).Handle(events.Handlers{
		scheduler.Event_SUBSCRIBED: events.HandlerFunc(func(ctx context.Context, e *scheduler.Event) error {
			subscribed.CompareAndSwap(0, time.Now().UnixNano())
			return track.HandleEvent(ctx, e)
		}),
		scheduler.Event_OFFERS: events.HandlerFunc(onOffers),
		scheduler.Event_UPDATE: events.HandlerFunc(onUpdate),
	}.Otherwise(events.NoopHandler.HandleEvent))

	b.StartTimer()
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = controller.Run(ctx, &mesos.FrameworkInfo{User: "bench", Name: "ceiling"}, caller,
			controller.WithEventHandler(h), controller.WithFrameworkID(store.GetIgnoreErrors(fid)),
			controller.WithRegistrationTokens(mesostest.FastBackoff(ctx)))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("raw ceiling timed out: %d launched, %d finished of %d", launched.Load(), finished.Load(), ceilingInstances)
	}
	b.StopTimer()
	took := time.Since(time.Unix(0, subscribed.Load()))
	cancel()
	<-runDone
	return took
}

// BenchmarkSchedulerOfferLatencyDeepQueue is BenchmarkSchedulerOfferLatency
// with 100,000 instances pending: 100 agents that each fit one task, so
// every offer cycle carries 100 offers and one launch per offer, each
// stored in etcd before its ACCEPT. It samples the first 2,000 ACCEPTs sent
// while at least 100,000 instances were pending, then stops.
func BenchmarkSchedulerOfferLatencyDeepQueue(b *testing.B) {
	const deep, samples = 100_000, 2000
	env := newSchedEnv(b, localmesos.Config{Agents: 100, Simulated: true, Resources: "cpus:1;mem:1024;disk:1024"})
	var mu sync.Mutex
	var accepts []time.Duration
	n, _ := env.startNode("bench", func(c *node.Config) {
		c.Framework.OfferAccepted = func(d time.Duration, pending int) {
			if pending >= deep {
				mu.Lock()
				accepts = append(accepts, d)
				mu.Unlock()
			}
		}
	})
	sp := mustSpec(b, fmt.Sprintf(`
name: deep
tasks:
  - name: work
    command: "true"
    resources: {cpus: 1, mem: 32}
    instances: %d
`, deep+samples+1000))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mu.Lock()
		accepts = accepts[:0]
		mu.Unlock()
		j := submit(b, []*node.Node{n}, sp)
		waitFor(b, "2,000 ACCEPTs with 100,000 pending", 5*time.Minute, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(accepts) >= samples
		})
		b.StopTimer()
		if _, err := n.Kill(context.Background(), j.ID); err != nil {
			b.Fatal(err)
		}
		waitFor(b, "the job to end", 5*time.Minute, func() bool { return !n.Scheduling(j.ID) })
		b.StartTimer()
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	ds := append([]time.Duration(nil), accepts...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[(len(ds)*99)/100].Microseconds())/1000, "accept-p99-ms")
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "accept-p50-ms")
}
