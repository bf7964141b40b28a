package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Server-side failure reporting (issue 13), on the local Mesos with real
// processes: a launch failure, a suspended attempt, a retrying job and the
// per-index failure tolerance say what happened.
func TestStatusReporting(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Resources: "cpus:8;mem:8192;disk:1024"})
	n, _ := env.startNode("a")
	waitFor(t, "leader", 10*time.Second, n.IsLeader)

	t.Run("launch failure", func(t *testing.T) {
		j := submit(t, []*node.Node{n}, mustSpec(t, `
name: nolaunch
tasks:
  - name: a
    args: ["/nonexistent/gleaner-e2e-tool", "x"]
    retries: 1
`))
		st, as := waitBatch(t, n, j.ID, 60*time.Second)
		if st.State != job.Failed || len(as) != 2 {
			t.Fatalf("%s with %d attempts, want failed after 2", st.State, len(as))
		}
		for _, a := range as {
			if a.ExitCode != nil || !strings.Contains(a.Message, "[launch failed") || strings.Contains(a.Message, "exit 0") {
				t.Errorf("attempt %d: exit %v, message %q; want no exit status and '[launch failed…]'", a.Attempt, a.ExitCode, a.Message)
			}
		}
	})

	t.Run("suspended attempt", func(t *testing.T) {
		j := submit(t, []*node.Node{n}, mustSpec(t, `
name: held
tasks:
  - name: s
    command: "sleep 30"
    retries: 0
`))
		waitFor(t, "held running", 30*time.Second, func() bool {
			st, _ := bstatus(t, n, j.ID)
			return st.Tasks[0].Counts.Running == 1
		})
		if _, err := n.Suspend(context.Background(), j.ID); err != nil {
			t.Fatal(err)
		}
		var ended job.Attempt
		waitFor(t, "the suspended attempt to end", 30*time.Second, func() bool {
			_, as := bstatus(t, n, j.ID)
			for _, a := range as {
				if a.State.Terminal() {
					ended = a
					return true
				}
			}
			return false
		})
		if !strings.Contains(ended.Message, "[suspended on request: not counted]") || strings.Contains(ended.Message, "lost") {
			t.Fatalf("suspended attempt's message %q", ended.Message)
		}
		if _, err := n.Kill(context.Background(), j.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("retrying job stays running", func(t *testing.T) {
		// Fails once, then waits out a 2 s backoff with nothing running:
		// the job reads running (a retrying instance), never pending again.
		j := submit(t, []*node.Node{n}, mustSpec(t, `
name: backoff
tasks:
  - name: a
    command: 'test "$GLEANER_ATTEMPT" != 0'
    retries: {limit: 1, backoff: {delay: 2s}}
`))
		sawRetrying := false
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, as := bstatus(t, n, j.ID)
			if st.State.Terminal() {
				if st.State != job.Succeeded || len(as) != 2 {
					t.Fatalf("%s with %d attempts, want succeeded after 2", st.State, len(as))
				}
				break
			}
			if len(as) > 0 && st.State == job.Pending {
				t.Fatalf("pending again after an attempt: %+v", st)
			}
			sawRetrying = sawRetrying || (st.State == job.Running && st.Tasks[0].Counts.Retrying == 1)
			if time.Now().After(deadline) {
				t.Fatalf("not finished: %+v", st)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !sawRetrying {
			t.Error("never saw the job running with 1 retrying instance during the 2 s backoff")
		}
	})

	t.Run("per-index tolerance", func(t *testing.T) {
		j := submit(t, []*node.Node{n}, example(t, "per-index.yaml"))
		st, as := waitBatch(t, n, j.ID, 90*time.Second)
		ts := taskStatus(st, "shard")
		if st.State != job.Succeeded || ts.State != job.Succeeded || !slices.Equal(ts.FailedIndexes, []int{1, 4}) ||
			!strings.Contains(ts.Reason, "2 of 6 indexes failed") {
			t.Fatalf("job %s, shard %s (%q), failed indexes %v; want succeeded with [1 4]", st.State, ts.State, ts.Reason, ts.FailedIndexes)
		}
		if len(as) != 8 {
			t.Errorf("%d attempts, want 8 (6 shards, one retry each for 1 and 4)", len(as))
		}
		for _, a := range as {
			failing := a.Index == 1 || a.Index == 4
			if (failing && (a.ExitCode == nil || *a.ExitCode != 4)) || (!failing && a.State != job.AttemptSucceeded) {
				t.Errorf("shard %d attempt %d: %s exit %v %q", a.Index, a.Attempt, a.State, a.ExitCode, a.Message)
			}
		}

		// One failed index more than tolerated fails the task and the job.
		sp := example(t, "per-index.yaml")
		one := 1
		sp.Tasks[0].MaxFailedIndexes = &one
		j = submit(t, []*node.Node{n}, sp)
		st, _ = waitBatch(t, n, j.ID, 90*time.Second)
		if ts := taskStatus(st, "shard"); st.State != job.Failed || !strings.Contains(ts.Reason, "more than maxFailedIndexes 1") {
			t.Fatalf("job %s, shard %s (%q); want failed past maxFailedIndexes 1", st.State, ts.State, ts.Reason)
		}
	})
}
