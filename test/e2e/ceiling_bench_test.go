package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	gleanerstore "github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
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

// ceilingJob is what one run of the minimal framework launches, and where.
type ceilingJob struct {
	cluster   localmesos.Config
	instances int64
	cpus, mem float64 // of each instance
	// accepted, if set, gets the time from an OFFERS event received to
	// each ACCEPT of it answered, and the instances not launched yet when
	// the event came.
	accepted func(d time.Duration, pending int64)
}

// shareJob is the job of BenchmarkSchedulerShareOfCeiling.
var shareJob = ceilingJob{cluster: ceilingCluster, instances: ceilingInstances, cpus: ceilingCPUs, mem: ceilingMem}

// BenchmarkSchedulerShareOfCeiling measures, in one run, the raw ceiling —
// a minimal mesos-go framework with no scheduling logic (every offer
// accepted with as many LAUNCHes as fit, RUNNING and FINISHED acknowledged,
// nothing stored) — and Gleaner end to end with etcd persistence (submit to
// job succeeded), each on a fresh local Mesos of the same shape, and
// reports Gleaner's share of the ceiling.
//
// Between them it runs the persisting ceiling (persistingCeilingRun): the
// minimal framework storing the two records per launch Gleaner stores, in
// an embedded etcd as Gleaner's, so the share splits into what persistence
// costs and what Gleaner's own logic costs.
//
// It also reports the CPU time this process spent per launch on each side
// (the local Mesos and, for the persisting sides, the embedded etcd run in
// it): on a shared machine the rates swing with the neighbours' load, the
// CPU per launch much less.
func BenchmarkSchedulerShareOfCeiling(b *testing.B) {
	var raw, persisting, gleaner, rawCPU, persistingCPU, gleanerCPU time.Duration
	var updates, records float64
	// One untimed run first: the first run in a fresh process is slower
	// (heap growth, page faults, cold paths), and it would otherwise
	// always be the raw ceiling's.
	persistingCeilingRun(b, shareJob)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := processCPU()
		raw += rawCeilingRun(b, shareJob)
		c1 := processCPU()
		persisting += persistingCeilingRun(b, shareJob)
		c2 := processCPU()
		u0, r0 := counterSum(b, "gleaner_status_updates_total"), counterSum(b, "gleaner_attempt_records_stored_total")
		gleaner += gleanerRun(b)
		c3 := processCPU()
		rawCPU += c1 - c0
		persistingCPU += c2 - c1
		gleanerCPU += c3 - c2
		updates += counterSum(b, "gleaner_status_updates_total") - u0
		records += counterSum(b, "gleaner_attempt_records_stored_total") - r0
	}
	launches := float64(ceilingInstances * b.N)
	rawRate := launches / raw.Seconds()
	persistingRate := launches / persisting.Seconds()
	gleanerRate := launches / gleaner.Seconds()
	b.ReportMetric(rawRate, "ceiling-launches/s")
	b.ReportMetric(gleanerRate, "launches/s")
	b.ReportMetric(gleanerRate/rawRate, "share")
	// The same minimal framework storing the two records per launch
	// Gleaner stores: what the goal's etcd persistence alone leaves of
	// the raw ceiling, and Gleaner's share of that floor.
	b.ReportMetric(persistingRate, "persisting-ceiling-launches/s")
	b.ReportMetric(persistingRate/rawRate, "persisting-ceiling-share")
	b.ReportMetric(gleanerRate/persistingRate, "share-of-persisting-ceiling")
	b.ReportMetric(float64(rawCPU.Microseconds())/launches, "ceiling-cpu-us/launch")
	b.ReportMetric(float64(persistingCPU.Microseconds())/launches, "persisting-ceiling-cpu-us/launch")
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
// returns the time from its subscription until the last TASK_FINISHED was
// acknowledged.
func rawCeilingRun(b *testing.B, j ceilingJob) time.Duration { return ceilingRun(b, nil, j) }

// persistingCeilingRun is rawCeilingRun with Gleaner's write-ahead and
// nothing else: before each ACCEPT the offer's tasks are stored in etcd as
// launching (launching: transactions of at most 120 puts), and before a
// terminal update is acknowledged the task's end is stored (endWriter: in
// batches, as Gleaner stores a batch of updates), the two records per
// launch Gleaner writes, with records of the same shape (job.Attempt as
// JSON), in an embedded etcd as Gleaner's. What it leaves of the raw
// ceiling is what persistence alone costs a framework on this machine.
func persistingCeilingRun(b *testing.B, j ceilingJob) time.Duration {
	b.StopTimer()
	etcd := etcdtest.Start(b)
	cli := etcdtest.NewClient(b, etcd)
	return ceilingRun(b, &ceilingStore{cli: cli, created: time.Now()}, j)
}

// ceilingStore writes the persisting ceiling's records.
type ceilingStore struct {
	cli     *clientv3.Client
	created time.Time
}

func (s *ceilingStore) record(id string, state job.AttemptState, agent, host string) (string, string) {
	index, _ := strconv.Atoi(strings.TrimPrefix(id, "t"))
	a := job.Attempt{Job: "ceiling-0123456789abcdef", Task: "work", Index: index, Attempt: 1, State: state,
		AgentID: agent, Hostname: host, Created: s.created}
	if state != job.AttemptLaunching {
		zero := 0
		a.ExitCode, a.MesosState, a.Verdict = &zero, mesos.TASK_FINISHED.String(), "done"
		a.Started, a.Ended = s.created, time.Now()
	}
	v, err := json.Marshal(&a)
	if err != nil {
		panic(err)
	}
	return "/ceiling/attempts/" + a.Job + "/work/" + strconv.Itoa(index) + "/1", string(v)
}

// launching stores the tasks of one offer, in transactions of at most
// gleanerstore.MaxOpsPerTxn puts sent together (etcd's limit per transaction).
func (s *ceilingStore) launching(ctx context.Context, o *mesos.Offer, tasks []mesos.TaskInfo) error {
	errs := make(chan error, len(tasks)/gleanerstore.MaxOpsPerTxn+1)
	n := 0
	for start := 0; start < len(tasks); start += gleanerstore.MaxOpsPerTxn {
		chunk := tasks[start:min(start+gleanerstore.MaxOpsPerTxn, len(tasks))]
		n++
		go func() {
			ops := make([]clientv3.Op, len(chunk))
			for i := range chunk {
				k, v := s.record(chunk[i].TaskID.Value, job.AttemptLaunching, o.AgentID.Value, o.Hostname)
				ops[i] = clientv3.OpPut(k, v)
			}
			_, err := s.cli.Txn(ctx).Then(ops...).Commit()
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// endWriter stores the ends handed to it in batches: whatever has queued
// while the previous transactions were written goes into the next (at most
// gleanerstore.MaxOpsPerTxn each, gleanerstore.TxnConcurrency in flight),
// as Gleaner stores a batch of updates, and calls each end's then once its
// record is stored.
func (s *ceilingStore) endWriter(ctx context.Context, b *testing.B) (add func(st *mesos.TaskStatus, then func())) {
	type end struct {
		status *mesos.TaskStatus
		then   func()
	}
	ends := make(chan end, 1<<16)
	sem := make(chan struct{}, gleanerstore.TxnConcurrency)
	go func() {
		for {
			var batch []end
			select {
			case <-ctx.Done():
				return
			case e := <-ends:
				batch = append(batch, e)
			}
		more:
			for len(batch) < gleanerstore.MaxOpsPerTxn {
				select {
				case e := <-ends:
					batch = append(batch, e)
				default:
					break more
				}
			}
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				ops := make([]clientv3.Op, len(batch))
				for i, e := range batch {
					k, v := s.record(e.status.TaskID.Value, job.AttemptSucceeded, e.status.GetAgentID().GetValue(), "")
					ops[i] = clientv3.OpPut(k, v)
				}
				if _, err := s.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
					if ctx.Err() == nil {
						b.Errorf("store %d ends: %v", len(batch), err)
					}
					return
				}
				for _, e := range batch {
					e.then()
				}
			}()
		}
	}()
	return func(st *mesos.TaskStatus, then func()) { ends <- end{st, then} }
}

// ceilingRun runs the minimal framework on a fresh local Mesos until j's
// instances are done, storing its records in st when st is not nil.
func ceilingRun(b *testing.B, st *ceilingStore, j ceilingJob) time.Duration {
	b.StopTimer()
	cfg := j.cluster
	cfg.AllocationInterval = 100 * time.Millisecond
	cfg.Logger = testLogger(b)
	c, err := localmesos.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	var launched, finished, acknowledgedEnds atomic.Int64
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

	// Calls (and the records before them) go through pools so the event
	// loop never waits on one: ACCEPTs through their own, 16 in flight as
	// Gleaner sends them, so they never queue behind acknowledgements.
	work, accepts := make(chan func(), 1<<16), make(chan func(), 1<<12)
	var wg sync.WaitGroup
	defer func() { cancel(); close(work); close(accepts); wg.Wait() }()
	for w := 0; w < 32+16; w++ {
		pool := work
		if w >= 32 {
			pool = accepts
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for do := range pool {
				do()
			}
		}()
	}
	call := func(c *scheduler.Call) bool {
		err := calls.CallNoData(ctx, caller, c)
		if err != nil && ctx.Err() == nil {
			b.Errorf("%s: %v", c.GetType(), err)
		}
		return err == nil
	}
	// The run ends when the last TASK_FINISHED is acknowledged: the
	// framework's work for a task is done once the master has its
	// acknowledgements (Gleaner's run ends once its last records are
	// stored, right before their acknowledgements).
	acknowledgedEnd := func() {
		if acknowledgedEnds.Add(1) == j.instances {
			doneOnce.Do(func() { close(done) })
		}
	}
	var storeEnd func(*mesos.TaskStatus, func())
	if st != nil {
		storeEnd = st.endWriter(ctx, b)
	}
	stored := func(what string, err error) bool {
		if err != nil && ctx.Err() == nil {
			b.Errorf("store %s: %v", what, err)
		}
		return err == nil
	}
	onOffers := func(_ context.Context, e *scheduler.Event) error {
		received, pending := time.Now(), j.instances-launched.Load()
		accept := func(c *scheduler.Call) {
			if call(c) && j.accepted != nil {
				j.accepted(time.Since(received), pending)
			}
		}
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
			n := int(min(cpus/j.cpus, mem/j.mem) + 1e-9)
			var tasks []mesos.TaskInfo
			for ; n > 0 && launched.Load() < j.instances; n-- {
				id := "t" + strconv.FormatInt(launched.Add(1), 10)
				cmd := "true"
				tasks = append(tasks, mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
					Command: &mesos.CommandInfo{Value: &cmd}, Resources: mesostest.ResourcesLike(o, j.cpus, j.mem)})
			}
			if len(tasks) == 0 {
				decline := calls.Decline(o.ID).With(calls.RefuseSeconds(1))
				work <- func() { call(decline) }
				continue
			}
			launch := calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID)).With(calls.RefuseSeconds(1))
			if st == nil {
				accepts <- func() { accept(launch) }
				continue
			}
			accepts <- func() {
				if stored("launching", st.launching(ctx, &o, tasks)) {
					accept(launch)
				}
			}
		}
		return nil
	}
	onUpdate := func(_ context.Context, e *scheduler.Event) error {
		status := e.Update.Status
		if len(status.UUID) > 0 {
			ack := calls.Acknowledge(status.AgentID.Value, status.TaskID.Value, status.UUID)
			switch {
			case status.GetState() != mesos.TASK_FINISHED:
				work <- func() { call(ack) }
			case st == nil:
				work <- func() {
					if call(ack) {
						acknowledgedEnd()
					}
				}
			default:
				storeEnd(&status, func() {
					work <- func() {
						if call(ack) {
							acknowledgedEnd()
						}
					}
				})
			}
		}
		switch status.GetState() {
		case mesos.TASK_FINISHED:
			finished.Add(1)
		case mesos.TASK_RUNNING, mesos.TASK_STARTING:
		default:
			b.Errorf("task %s: %s %s", status.TaskID.Value, status.GetState(), status.GetMessage())
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
		b.Fatalf("ceiling timed out: %d launched, %d finished, %d of those acknowledged, of %d", launched.Load(), finished.Load(), acknowledgedEnds.Load(), j.instances)
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
	b.ReportMetric(percentileMs(accepts, 99), "accept-p99-ms")
	b.ReportMetric(percentileMs(accepts, 50), "accept-p50-ms")
}
