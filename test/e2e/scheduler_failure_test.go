package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/master"
)

func TestSchedulerFailingCommandRetriedThenFails(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: flaky
tasks:
  - name: fail
    command: "exit 3"
    retries: 2
  - name: after
    command: "true"
    depends: [fail]
`))
	st, as := waitJob(t, n, j.ID, 60*time.Second)
	if st.State != job.Failed || st.Tasks[0].State != job.Failed || st.Tasks[1].State != job.Pending {
		t.Fatalf("status = %+v", st)
	}
	if len(as) != 3 {
		t.Fatalf("%d attempts, want 3 (1 + 2 retries): %+v", len(as), as)
	}
	for i, a := range as {
		if a.Task != "fail" || a.Attempt != i || a.State != job.AttemptFailed || a.Hostname == "" || a.Ended.IsZero() {
			t.Errorf("attempt %d = %+v", i, a)
		}
		if a.ExitCode == nil || *a.ExitCode != 3 {
			t.Errorf("attempt %d exit code %v, want 3 (message %q)", i, a.ExitCode, a.Message)
		}
	}
}

// bigJob keeps a small cluster busy for a while: agents fit 2 tasks each.
const bigJob = `
name: big
tasks:
  - name: work
    command: "true"
    resources: {cpus: 1, mem: 64}
    instances: 40
  - name: after
    command: "true"
    resources: {cpus: 1, mem: 64}
    instances: 4
    depends: [work]
`

// checkExactlyOnce: every instance succeeded exactly once, and no attempt
// of an instance was created before the previous attempt ended.
func checkExactlyOnce(t *testing.T, st job.Status, as []job.Attempt) {
	t.Helper()
	if st.State != job.Succeeded {
		t.Fatalf("job %s: %+v", st.State, st)
	}
	byInst := map[string][]job.Attempt{}
	for _, a := range as {
		k := fmt.Sprintf("%s/%d", a.Task, a.Index)
		byInst[k] = append(byInst[k], a)
	}
	for _, ts := range st.Tasks {
		for i := 0; i < ts.Instances; i++ {
			k := fmt.Sprintf("%s/%d", ts.Name, i)
			list := byInst[k]
			sort.Slice(list, func(a, b int) bool { return list[a].Attempt < list[b].Attempt })
			ok := 0
			for x, a := range list {
				if a.State == job.AttemptSucceeded {
					ok++
				}
				if !a.State.Terminal() {
					t.Errorf("%s attempt %d still %s", k, a.Attempt, a.State)
				}
				if x > 0 && a.Created.Before(list[x-1].Ended) {
					t.Errorf("%s attempt %d created %s before attempt %d ended %s", k, a.Attempt, a.Created, list[x-1].Attempt, list[x-1].Ended)
				}
			}
			if ok != 1 {
				t.Errorf("%s succeeded %d times: %+v", k, ok, list)
			}
		}
	}
}

func TestSchedulerLeaderKilledMidJob(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, Resources: "cpus:2;mem:1024;disk:1024"})
	a, stopA := env.startNode("a")
	waitFor(t, "a to lead", 10*time.Second, a.IsLeader)
	b, _ := env.startNode("b")
	j := submit(t, []*node.Node{a}, mustSpec(t, bigJob))
	waitFor(t, "some instances to succeed", 30*time.Second, func() bool {
		st, _ := status(t, b, j.ID) // a standby serves reads
		return len(st.Tasks) > 0 && st.Tasks[0].Counts.Succeeded >= 5
	})
	stopA() // no resign: b must wait for a's lease to expire
	waitFor(t, "b to take over", 20*time.Second, b.IsLeader)
	st, as := waitJob(t, b, j.ID, 60*time.Second)
	checkExactlyOnce(t, st, as)
	if got := env.mesos.Master().Metrics()["master/tasks_finished"]; got != 44 {
		t.Fatalf("mesos finished %v tasks, want 44 (each instance once)", got)
	}
}

// SIGTERM resigns: the standby leads long before the 60 s lease could
// expire, and finishes the job.
func TestSchedulerResignHandsOver(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2, Resources: "cpus:2;mem:1024;disk:1024"})
	slow := func(c *node.Config) { c.LeaseTTL = 60; c.ResignOnExit = true }
	a, stopA := env.startNode("a", slow)
	waitFor(t, "a to lead", 10*time.Second, a.IsLeader)
	b, _ := env.startNode("b", slow)
	j := submit(t, []*node.Node{a}, mustSpec(t, bigJob))
	stopA()
	waitFor(t, "b to lead after a resigned", 20*time.Second, b.IsLeader)
	st, as := waitJob(t, b, j.ID, 40*time.Second)
	checkExactlyOnce(t, st, as)
}

func TestSchedulerMasterRestartAndBrokenStream(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Resources: "cpus:2;mem:1024;disk:1024"})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: long
tasks:
  - name: work
    command: "true"
    resources: {cpus: 1, mem: 64}
    instances: 300
  - name: after
    command: "true"
    depends: [work]
`))
	succeeded := func() int { st, _ := status(t, n, j.ID); return st.Tasks[0].Counts.Succeeded }
	waitFor(t, "some instances to succeed", 30*time.Second, func() bool { return succeeded() >= 5 })
	subs := n.Subscriptions()
	env.mesos.BreakSchedulerStreams()
	waitFor(t, "a new subscription after the stream broke", 30*time.Second, func() bool { return n.Subscriptions() > subs })
	mark := succeeded()
	waitFor(t, "more instances to succeed after re-subscribing", 30*time.Second, func() bool { return succeeded() > mark+5 })
	if st, _ := status(t, n, j.ID); st.State.Terminal() {
		t.Fatal("job finished before the master restart; make it longer")
	}
	subs = n.Subscriptions()
	if err := env.mesos.RestartMaster(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new subscription after the master restarted", 30*time.Second, func() bool { return n.Subscriptions() > subs })
	mark = succeeded()
	st, as := waitJob(t, n, j.ID, 60*time.Second)
	if mark >= 300 {
		t.Logf("all work had succeeded by the time of the re-subscription")
	}
	checkExactlyOnce(t, st, as)
}

// masterTaskIDs lists the tasks the local master knows in any state
// (operator API GET_TASKS).
func masterTaskIDs(t testing.TB, env *schedEnv) map[string]bool {
	t.Helper()
	gt := getTasks(t, env)
	ids := map[string]bool{}
	for _, ts := range [][]mesos.Task{gt.GetPendingTasks(), gt.GetTasks(), gt.GetUnreachableTasks(), gt.GetCompletedTasks(), gt.GetOrphanTasks()} {
		for _, task := range ts {
			ids[task.TaskID.Value] = true
		}
	}
	return ids
}

// getTasks is the local master's answer to the operator API's GET_TASKS.
func getTasks(t testing.TB, env *schedEnv) *master.Response_GetTasks {
	t.Helper()
	call := master.Call{Type: master.Call_GET_TASKS}
	body, err := call.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, env.mesos.MasterURL()+"/api/v1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Accept", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET_TASKS: %s %v %q", resp.Status, err, b)
	}
	var r master.Response
	if err := r.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	return r.GetGetTasks()
}

// launched counts the tasks the local master knows in any state.
func launched(env *schedEnv) float64 {
	m := env.mesos.Master().Metrics()
	n := 0.0
	for _, s := range []string{"staging", "starting", "running", "killing", "finished", "failed", "killed", "lost", "error", "dropped", "unreachable", "gone"} {
		n += m["master/tasks_"+s]
	}
	return n
}

// With etcd down nothing is launched (launches are written first) and
// failures are not acknowledged; after etcd returns the job carries on and
// can be killed.
func TestSchedulerEtcdUnreachable(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: looping
tasks:
  - name: fail
    command: "exit 3"
    instances: 2
    retries: 100000
`))
	attempts := func() int { _, as := status(t, n, j.ID); return len(as) }
	waitFor(t, "a few attempts", 30*time.Second, func() bool { return attempts() >= 4 })
	stoppedAt := time.Now()
	env.etcd.Stop()
	before, atStop := launched(env), masterTaskIDs(t, env)
	if len(atStop) == 0 {
		t.Fatal("GET_TASKS lists no task after a few attempts")
	}
	time.Sleep(2500 * time.Millisecond) // a window in which nothing new may launch
	inWindow := map[string]bool{}
	for id := range masterTaskIDs(t, env) {
		if !atStop[id] {
			inWindow[id] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := n.Submit(ctx, mustSpec(t, tenThenOne))
	cancel()
	if err == nil {
		t.Fatal("submit succeeded with etcd down")
	}
	if err := env.etcd.Restart(); err != nil {
		t.Fatal(err)
	}
	var seen int
	waitFor(t, "attempts to resume", 30*time.Second, func() bool {
		seen = attempts()
		return float64(seen) > before+2
	})
	// A launch the master got in the window is one stored (write before
	// act) and decided before etcd stopped, whose ACCEPT was still on its
	// way (on a loaded machine that can take a while): nothing decided while
	// etcd was down reaches Mesos.
	_, as := status(t, n, j.ID)
	stored := map[string]job.Attempt{}
	for _, a := range as {
		stored[a.TaskID()] = a
	}
	for id := range inWindow {
		if a, ok := stored[id]; !ok || !a.Created.Before(stoppedAt) {
			t.Errorf("task %s launched while etcd was down (stored %v, attempt %+v, etcd stopped at %v)", id, ok, a, stoppedAt)
		}
	}
	waitFor(t, "the kill to be accepted", 10*time.Second, func() bool {
		_, err := n.Kill(context.Background(), j.ID)
		return err == nil
	})
	st, _ := waitJob(t, n, j.ID, 30*time.Second)
	if st.State != job.Killed {
		t.Fatalf("after kill: %+v", st)
	}
}

// The leader dies while tasks are running (simulated tasks of 300 ms): the
// standby adopts them through reconciliation; Mesos saw each instance
// launched exactly once.
func TestSchedulerLeaderKilledWhileTasksRun(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, Simulated: true, Resources: "cpus:2;mem:1024;disk:1024"})
	a, stopA := env.startNode("a")
	waitFor(t, "a to lead", 10*time.Second, a.IsLeader)
	b, _ := env.startNode("b")
	j := submit(t, []*node.Node{a}, mustSpec(t, `
name: timed
tasks:
  - name: work
    command: "true"
    resources: {cpus: 1, mem: 64}
    instances: 30
    labels: {"localmesos.sim/duration": "300ms"}
`))
	waitFor(t, "some instances to succeed", 30*time.Second, func() bool {
		st, _ := status(t, b, j.ID)
		return len(st.Tasks) > 0 && st.Tasks[0].Counts.Succeeded >= 6 && st.Tasks[0].Counts.Running > 0
	})
	stopA()
	waitFor(t, "b to take over", 20*time.Second, b.IsLeader)
	st, as := waitJob(t, b, j.ID, 60*time.Second)
	checkExactlyOnce(t, st, as)
	if got := env.mesos.Master().Metrics()["master/tasks_finished"]; got != 30 {
		t.Fatalf("mesos finished %v tasks, want 30 (each instance once)", got)
	}
}
