package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/framework"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	"github.com/gleaner-project/gleaner/test/etcdtest"
	"github.com/gleaner-project/gleaner/test/localmesos"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("GLEANER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// schedEnv is etcd + local Mesos + scheduler nodes, all in-process.
type schedEnv struct {
	t       testing.TB
	etcd    *etcdtest.Server
	mesos   *localmesos.Cluster
	prefix  string
	mu      sync.Mutex
	cancels []context.CancelFunc
	nodes   []*node.Node
}

func newSchedEnv(t testing.TB, mcfg localmesos.Config) *schedEnv {
	t.Helper()
	e := &schedEnv{t: t, etcd: etcdtest.Start(t), prefix: "/gleaner/"}
	if mcfg.AllocationInterval == 0 {
		mcfg.AllocationInterval = 100 * time.Millisecond
	}
	mcfg.Logger = testLogger(t)
	c, err := localmesos.Start(context.Background(), mcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.mesos = c
	return e
}

func (e *schedEnv) client() *clientv3.Client {
	cli, err := e.etcd.Client() // a quiet logger: tests stop etcd on purpose
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cli.Close() })
	return cli
}

// startNode runs one scheduler node; stop cancels it without resigning.
func (e *schedEnv) startNode(name string, opts ...func(*node.Config)) (*node.Node, context.CancelFunc) {
	cli := e.client()
	cfg := node.Config{
		Prefix:       e.prefix,
		AdvertiseURL: "http://" + name,
		LeaseTTL:     2,
		Logger:       testLogger(e.t).With("node", name),
		Framework: framework.Config{
			Masters:           []string{e.mesos.MasterURL()},
			MinBackoff:        50 * time.Millisecond,
			MaxBackoff:        500 * time.Millisecond,
			RefuseSeconds:     time.Second,
			ReconcileInterval: 2 * time.Second,
			RequestTimeout:    5 * time.Second,
		},
	}
	// Tests wait for the stored running record of tasks that run for a
	// few seconds: it is written 200 ms after RUNNING here. Benchmarks
	// measure the deployed delay (framework.DefaultRunningRecordDelay).
	if _, bench := e.t.(*testing.B); !bench {
		cfg.Framework.RunningRecordDelay = 200 * time.Millisecond
	}
	for _, o := range opts {
		o(&cfg)
	}
	n := node.New(cfg, cli)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			e.t.Errorf("node %s did not stop", name)
		}
	}
	e.t.Cleanup(stop)
	return n, stop
}

func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustSpec(t testing.TB, doc string) *job.Spec {
	t.Helper()
	s, err := spec.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// submit retries until some node leads.
func submit(t testing.TB, nodes []*node.Node, sp *job.Spec) *job.Job {
	t.Helper()
	var j *job.Job
	waitFor(t, "a leader to accept the job", 20*time.Second, func() bool {
		for _, n := range nodes {
			if got, err := n.Submit(context.Background(), sp); err == nil {
				j = got
				return true
			}
		}
		return false
	})
	return j
}

// status derives a job's status from its stored record and attempts, without the DAG.
func status(t testing.TB, n *node.Node, id string) (job.Status, []job.Attempt) {
	t.Helper()
	return derivedStatus(t, n, id, job.Tally)
}

// derivedStatus reads job id and its attempts from n's store and derives the
// status with derive; a read that fails gives an empty status.
func derivedStatus(t testing.TB, n *node.Node, id string, derive func(*job.Job, []job.Attempt) job.Status) (job.Status, []job.Attempt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	j, err := n.Store().GetJob(ctx, id)
	if err != nil {
		return job.Status{}, nil
	}
	as, err := n.Store().Attempts(ctx, id)
	if err != nil {
		return job.Status{}, nil
	}
	return derive(j, as), as
}

func waitJob(t testing.TB, n *node.Node, id string, limit time.Duration) (job.Status, []job.Attempt) {
	t.Helper()
	return waitDerived(t, n, id, limit, job.Tally)
}

// waitDerived waits until the status derive gives job id is terminal.
func waitDerived(t testing.TB, n *node.Node, id string, limit time.Duration, derive func(*job.Job, []job.Attempt) job.Status) (job.Status, []job.Attempt) {
	t.Helper()
	var st job.Status
	var as []job.Attempt
	waitFor(t, "job "+id+" to finish", limit, func() bool {
		st, as = derivedStatus(t, n, id, derive)
		return st.State.Terminal()
	})
	return st, as
}
