package evict

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/retry"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fakeTarget is a scheduling state with fixed instances.
type fakeTarget struct {
	mu        sync.Mutex
	instances []Instance
	requeued  map[string]string // task id → reason
	details   map[string]string // task id → detail
	listed    int               // calls of Instances
}

func (f *fakeTarget) Instances() []Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listed++
	out := append([]Instance(nil), f.instances...)
	for i := range out {
		if _, ok := f.requeued[out[i].TaskID]; ok {
			out[i].Requeuing = true
		}
	}
	return out
}

func (f *fakeTarget) Active(taskID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.ContainsFunc(f.instances, func(in Instance) bool { return in.TaskID == taskID })
}

func (f *fakeTarget) Requeue(ids []string, reason, detail string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requeued == nil {
		f.requeued, f.details = map[string]string{}, map[string]string{}
	}
	out := map[string]string{}
	for _, in := range f.instances {
		if slices.Contains(ids, in.TaskID) {
			f.requeued[in.TaskID], f.details[in.TaskID] = reason, detail
			out[in.TaskID] = in.AgentID
		}
	}
	return out
}

func (f *fakeTarget) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, in := range f.instances {
		if in.TaskID == id {
			f.instances = append(f.instances[:i], f.instances[i+1:]...)
			return
		}
	}
}

type killLog struct {
	mu    sync.Mutex
	calls []map[string]string
	ch    chan map[string]string
}

func (k *killLog) kill(_ context.Context, tasks map[string]string) {
	k.mu.Lock()
	k.calls = append(k.calls, maps.Clone(tasks))
	k.mu.Unlock()
	if k.ch != nil {
		k.ch <- maps.Clone(tasks)
	}
}

func inst(id, host string, prio int, started time.Time, cpus, mem float64) Instance {
	return Instance{Candidate: Candidate{TaskID: id, Priority: prio, Started: started, CPUs: cpus, MemMB: mem}, AgentID: "agent-" + host, Hostname: host}
}

func putRequest(t testing.TB, cli *clientv3.Client, prefix string, r Request) {
	t.Helper()
	b, _ := json.Marshal(r)
	if _, err := cli.Put(context.Background(), prefix+"evictions/"+r.Hostname, string(b)); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, cli *clientv3.Client, key string) int64 {
	t.Helper()
	resp, err := cli.Get(context.Background(), key, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

func TestWatcherCarriesOutOnce(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := etcdtest.NewClient(t, srv)
	ctx := context.Background()
	const prefix = "/evict-test/"
	now := time.Now()
	tg := &fakeTarget{instances: []Instance{
		inst("j1.t.0.0", "h1", 100, now.Add(-time.Minute), 0.5, 512),
		inst("j2.t.0.0", "h1", 10, now.Add(-time.Hour), 0.5, 512),
		inst("j2.t.1.0", "h2", 10, now.Add(-time.Second), 0.5, 512),
	}}
	kills := &killLog{}
	w := New(Config{Client: cli, Prefix: prefix, Target: tg, Kill: kills.kill})
	if err := w.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	req := Request{ID: "r1", Hostname: "h1", MemMB: 500, Reason: "memory short", RequestedAt: now}
	putRequest(t, cli, prefix, req)
	if err := w.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"j2.t.0.0": "agent-h1"} // lowest priority on h1 only
	if len(kills.calls) != 1 || !maps.Equal(kills.calls[0], want) {
		t.Fatalf("kills %v, want one call %v", kills.calls, want)
	}
	if tg.requeued["j2.t.0.0"] != retry.ReasonReclaimed || len(tg.requeued) != 1 || tg.details["j2.t.0.0"] != "reclaimed: memory short" {
		t.Fatalf("requeued %v", tg.requeued)
	}
	if n := count(t, cli, prefix+"evictions/h1"); n != 0 {
		t.Fatal("request not deleted")
	}
	if n := count(t, cli, prefix+"evictions-acted/h1/r1"); n != 1 {
		t.Fatal("no record of the eviction")
	}

	// The leader fails over before it deleted the request (put it back):
	// the new leader kills the recorded victim again and chooses nobody new,
	// although j1 would now be the choice.
	putRequest(t, cli, prefix, req)
	tg2 := &fakeTarget{instances: tg.instances}
	kills2 := &killLog{}
	w2 := New(Config{Client: cli, Prefix: prefix, Target: tg2, Kill: kills2.kill})
	if err := w2.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if tg2.requeued["j2.t.0.0"] != retry.ReasonReclaimed {
		t.Fatalf("restore did not mark the recorded victim: %v", tg2.requeued)
	}
	if err := w2.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if len(kills2.calls) != 1 || !maps.Equal(kills2.calls[0], want) || len(tg2.requeued) != 1 {
		t.Fatalf("after failover kills %v requeued %v, want only %v", kills2.calls, tg2.requeued, want)
	}
	if n := count(t, cli, prefix+"evictions/h1"); n != 0 {
		t.Fatal("request not deleted after failover")
	}

	// A new request counts the victim still being killed as freed.
	putRequest(t, cli, prefix, Request{ID: "r2", Hostname: "h1", MemMB: 900})
	if err := w2.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if last := kills2.calls[len(kills2.calls)-1]; !maps.Equal(last, map[string]string{"j1.t.0.0": "agent-h1"}) {
		t.Fatalf("second request killed %v", last)
	}

	// Victims gone: tidy drops their records; while one runs, its KILL is re-sent.
	tg2.remove("j2.t.0.0")
	n, listed := len(kills2.calls), tg2.listed
	w2.tidy(ctx)
	if tg2.listed != listed {
		t.Fatal("tidy listed every active attempt; it asks only about the recorded victims")
	}
	if count(t, cli, prefix+"evictions-acted/h1/r1") != 0 || count(t, cli, prefix+"evictions-acted/h1/r2") != 1 {
		t.Fatal("tidy: want r1 dropped and r2 kept")
	}
	if len(kills2.calls) != n+1 || !maps.Equal(kills2.calls[n], map[string]string{"j1.t.0.0": "agent-h1"}) {
		t.Fatalf("tidy did not re-send the KILL: %v", kills2.calls[n:])
	}
}

func TestWatcherFencedAndBadInput(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := etcdtest.NewClient(t, srv)
	ctx := context.Background()
	const prefix = "/evict-fence/"
	tg := &fakeTarget{instances: []Instance{inst("j.t.0.0", "h1", 1, time.Now(), 1, 100)}}
	kills := &killLog{}
	// A deposed leader: its fence no longer holds.
	fence := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(prefix+"leader/none"), "=", 42)}
	w := New(Config{Client: cli, Prefix: prefix, Target: tg, Kill: kills.kill, Fence: fence})
	putRequest(t, cli, prefix, Request{ID: "r1", Hostname: "h1", CPUs: 0.5})
	if err := w.Pass(ctx); err == nil || !strings.Contains(err.Error(), "not the leader") {
		t.Fatalf("fenced pass: err %v", err)
	}
	if len(kills.calls) != 0 || len(tg.requeued) != 0 || count(t, cli, prefix+"evictions/h1") != 1 {
		t.Fatal("a fenced-off watcher acted")
	}

	for _, tc := range []struct{ val, field string }{
		{`{"hostname":"h1","cpus":1}`, "id"},
		{`{"id":"x","hostname":"h1","mem_mb":-1}`, "mem_mb"},
		{`{"id":"x","hostname":"h2"}`, "hostname"},
		{`{"id":`, "unexpected"},
	} {
		if _, err := ParseRequest(prefix+"evictions/h1", []byte(tc.val)); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("ParseRequest(%s) = %v, want an error naming %s", tc.val, err, tc.field)
		}
	}
	// A broken request is dropped so the monitor can write a new one.
	w2 := New(Config{Client: cli, Prefix: prefix, Target: tg, Kill: kills.kill})
	if _, err := cli.Put(ctx, prefix+"evictions/h1", `{"cpus":1}`); err != nil {
		t.Fatal(err)
	}
	if err := w2.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if count(t, cli, prefix+"evictions/h1") != 0 || len(kills.calls) != 0 {
		t.Fatal("broken request kept or acted on")
	}
}

func TestWatcherRunReactsToWatch(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := etcdtest.NewClient(t, srv)
	const prefix = "/evict-run/"
	tg := &fakeTarget{instances: []Instance{inst("j.t.0.0", "h1", 1, time.Now(), 1, 100)}}
	kills := &killLog{ch: make(chan map[string]string, 4)}
	w := New(Config{Client: cli, Prefix: prefix, Target: tg, Kill: kills.kill, Poll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	putRequest(t, cli, prefix, Request{ID: "r1", Hostname: "h1", CPUs: 0.5})
	select {
	case got := <-kills.ch:
		if !maps.Equal(got, map[string]string{"j.t.0.0": "agent-h1"}) {
			t.Fatalf("killed %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not lead to a kill")
	}
}

// A host that had a request is held (no new work) for the cooldown only.
func TestWatcherHoldsHostForCooldown(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := etcdtest.NewClient(t, srv)
	const prefix = "/evict-hold/"
	now := time.Date(2026, 11, 21, 21, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tg := &fakeTarget{instances: []Instance{inst("j.t.0.0", "h1", 1, now, 1, 100)}}
	w := New(Config{Client: cli, Prefix: prefix, Target: tg, Kill: (&killLog{}).kill, Cooldown: 10 * time.Second, Now: clock})
	if w.Holding("h1") {
		t.Fatal("held before any request")
	}
	putRequest(t, cli, prefix, Request{ID: "r1", Hostname: "h1", MemMB: 50})
	if err := w.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !w.Holding("h1") || w.Holding("h2") {
		t.Fatal("want h1 held, h2 not")
	}
	now = now.Add(10 * time.Second)
	if w.Holding("h1") {
		t.Fatal("still held after the cooldown")
	}
	// A new leader holds the hosts of recorded evictions too.
	w2 := New(Config{Client: cli, Prefix: prefix, Target: tg, Cooldown: 10 * time.Second, Now: clock})
	if err := w2.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !w2.Holding("h1") {
		t.Fatal("restored watcher does not hold h1")
	}
}

// The engine adapter offers only attempts whose ACCEPT has returned: a KILL
// must not overtake a launch in flight.
func TestEngineTargetSkipsLaunchesInFlight(t *testing.T) {
	e := engine.New(nil)
	e.AddJob(&job.Job{ID: "j", Submitted: time.Now(), Spec: job.Spec{Name: "j", Priority: 7, Tasks: []job.TaskSpec{
		{Name: "t", Command: "x", Instances: 2, Resources: job.Resources{CPUs: 1, Mem: 100}}}}})
	ls := e.Plan([]engine.Offer{{ID: "o", AgentID: "a1", Hostname: "h1", Available: job.Resources{CPUs: 4, Mem: 1000}}})
	if len(ls) != 2 {
		t.Fatalf("planned %d", len(ls))
	}
	tg := EngineTarget(e)
	if got := tg.Instances(); len(got) != 0 {
		t.Fatalf("launches in flight offered as victims: %+v", got)
	}
	e.MarkSent([]string{ls[0].Attempt.TaskID()})
	got := tg.Instances()
	if len(got) != 1 || got[0].TaskID != ls[0].Attempt.TaskID() || got[0].Priority != 7 || got[0].MemMB != 100 || got[0].Hostname != "h1" || got[0].AgentID != "a1" {
		t.Fatalf("instances %+v", got)
	}
	if found := tg.Requeue([]string{ls[0].Attempt.TaskID()}, retry.ReasonReclaimed, "reclaimed: x"); len(found) != 1 {
		t.Fatalf("requeue found %v", found)
	}
	if got := tg.Instances(); len(got) != 1 || !got[0].Requeuing {
		t.Fatalf("after requeue %+v", got)
	}
}
