package agent

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

func TestSimulatedTasks(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.Simulated = true; c.WorkDir = "" })
	fw := frameworkInfo(false, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
	a.Launch(fw, nil, []mesos.TaskInfo{
		taskInfo("quick"),
		taskInfo("timed", SimDurationLabel, "50ms"),
		taskInfo("bad-exit", SimDurationLabel, "10ms", SimExitCodeLabel, "2"),
		taskInfo("long", SimDurationLabel, "1h"),
		taskInfo("bad-label", SimDurationLabel, "soon"),
	}, false)
	a.Launch(fw, &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: "sim-exec"}},
		[]mesos.TaskInfo{taskInfo("custom-1", SimDurationLabel, "1h")}, false)
	m.waitFor(t, "quick, timed, bad-exit, bad-label ended and long running", func() bool {
		return m.hasState("quick", mesos.TASK_FINISHED) && m.hasState("timed", mesos.TASK_FINISHED) &&
			m.hasState("bad-exit", mesos.TASK_FAILED) && m.hasState("bad-label", mesos.TASK_FAILED) &&
			m.hasState("long", mesos.TASK_RUNNING) && m.hasState("custom-1", mesos.TASK_RUNNING)
	})
	a.Kill(*fw.ID, mesos.TaskID{Value: "long"}, nil)
	a.ShutdownExecutor(*fw.ID, mesos.ExecutorID{Value: "sim-exec"})
	m.waitFor(t, "long and custom-1 killed", func() bool {
		return m.hasState("long", mesos.TASK_KILLED) && m.hasState("custom-1", mesos.TASK_KILLED)
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	for task, want := range map[string][]mesos.TaskState{
		"quick":     {mesos.TASK_RUNNING, mesos.TASK_FINISHED},
		"bad-exit":  {mesos.TASK_RUNNING, mesos.TASK_FAILED},
		"long":      {mesos.TASK_RUNNING, mesos.TASK_KILLING, mesos.TASK_KILLED},
		"bad-label": {mesos.TASK_FAILED},
	} {
		if got := m.statesOf(task); !equalStates(got, want) {
			t.Errorf("%s states = %v, want %v", task, got, want)
		}
	}
	if u, _ := m.lastOf("bad-exit"); u.status.GetMessage() != "Command exited with status 2" {
		t.Errorf("bad-exit message %q", u.status.GetMessage())
	}
	for _, u := range m.updates {
		if !wire.ValidUUID(u.status.UUID) || u.status.GetSource() != mesos.SOURCE_EXECUTOR {
			t.Errorf("simulated update without uuid or executor source: %+v", u.status)
		}
	}
	customs := 0
	for _, term := range m.terminated {
		if term.custom {
			customs++
			if term.executor.Value != "sim-exec" {
				t.Errorf("command task %s reported as a custom executor", term.executor.Value)
			}
		}
	}
	if customs != 1 || len(m.terminated) != 6 {
		t.Errorf("terminations = %+v, want five command executors and sim-exec", m.terminated)
	}
}

// Simulated tasks keep running while the agent is down and report once it
// is back; a killed host loses them.
func TestSimulatedTasksAcrossRestartAndKillHost(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.Simulated = true; c.WorkDir = "" })
	fw := frameworkInfo(true)
	a.Launch(fw, nil, []mesos.TaskInfo{taskInfo("across", SimDurationLabel, "100ms"), taskInfo("doomed", SimDurationLabel, "1h")}, false)
	m.waitFor(t, "running", func() bool {
		return m.hasState("across", mesos.TASK_RUNNING) && m.hasState("doomed", mesos.TASK_RUNNING)
	})
	a.Stop()
	// "across" ends while the agent is down: its end waits for the restart.
	m.waitFor(t, "across ended while down", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.deferred) == 1
	})
	m.mu.Lock()
	if m.hasState("across", mesos.TASK_FINISHED) {
		t.Error("a stopped agent forwarded an update")
	}
	m.mu.Unlock()
	if err := a.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "across finished after restart", func() bool { return m.hasState("across", mesos.TASK_FINISHED) })
	a.KillHost()
	if err := a.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "doomed failed", func() bool { return m.hasState("doomed", mesos.TASK_FAILED) })
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, _ := m.lastOf("doomed"); u.status.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || u.status.GetSource() != mesos.SOURCE_AGENT {
		t.Errorf("doomed final update %+v", u.status)
	}
}

// benchMaster acknowledges every update at once and counts the
// acknowledged terminal updates.
type benchMaster struct {
	mu     sync.Mutex
	agents map[string]link.Agent
	n      int
	done   atomic.Int64
}

func (m *benchMaster) RegisterAgent(a link.Agent, info mesos.AgentInfo, _ []mesos.Task, _ []link.ExecutorRef) (mesos.AgentID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	id := mesos.AgentID{Value: "BENCH-S" + strconv.Itoa(m.n)}
	m.agents[id.Value] = a
	return id, nil
}
func (m *benchMaster) AgentGone(mesos.AgentID) {}
func (m *benchMaster) StatusUpdate(agentID mesos.AgentID, fw mesos.FrameworkID, st mesos.TaskStatus, _ mesos.TaskState) {
	m.mu.Lock()
	a := m.agents[agentID.Value]
	m.mu.Unlock()
	a.Acknowledge(fw, st.TaskID, st.UUID)
	if link.IsTerminal(st.GetState()) {
		m.done.Add(1)
	}
}
func (m *benchMaster) ExecutorMessage(mesos.AgentID, mesos.FrameworkID, mesos.ExecutorID, []byte) {}
func (m *benchMaster) ExecutorTerminated(mesos.AgentID, mesos.FrameworkID, mesos.ExecutorID, bool, int32) {
}

// BenchmarkSimulatedLaunches launches b.N simulated tasks over 100 agents in
// batches of 10 per Launch (one accepted offer) and waits until every task's
// RUNNING and FINISHED updates are acknowledged by a fake master that acks at
// once. tasks/s is the agents' share of the end-to-end launch rate.
func BenchmarkSimulatedLaunches(b *testing.B) { benchSimulated(b, "0s") }

// BenchmarkSimulatedLaunchesTimed is the same with tasks that run 20ms, so
// every task also goes through the shared timer heap.
func BenchmarkSimulatedLaunchesTimed(b *testing.B) { benchSimulated(b, "20ms") }

func benchSimulated(b *testing.B, dur string) {
	m := &benchMaster{agents: map[string]link.Agent{}}
	agents := make([]*Agent, 100)
	for i := range agents {
		a, err := New(Config{Hostname: "bench-" + strconv.Itoa(i), Simulated: true, Master: m,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		defer a.Close()
		agents[i] = a
	}
	fw := frameworkInfo(false)
	const batch = 10
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		tasks := make([]mesos.TaskInfo, n)
		for j := range tasks {
			tasks[j] = taskInfo("task-"+strconv.Itoa(i+j), SimDurationLabel, dur)
		}
		agents[(i/batch)%len(agents)].Launch(fw, nil, tasks, false)
	}
	for m.done.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
}

// A framework that launches one custom executor per task (as Gleaner
// does) leaves nothing behind on a simulated agent once its tasks ended and
// their updates were acknowledged: each executor exited (the master hears
// of it), no task is kept but the bounded completed list, and the timer
// heap holds nothing. A task launched again on an executor ID that exited
// gets a new executor.
func TestSimulatedExecutorsPerTaskBounded(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.Simulated = true; c.WorkDir = "" })
	fw := frameworkInfo(false)
	const n = 3*maxCompleted + 7
	for i := range n {
		id := "t" + strconv.Itoa(i)
		a.Launch(fw, &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: id}},
			[]mesos.TaskInfo{taskInfo(id)}, false)
	}
	// Two tasks sharing an executor in one launch: the first ends at once,
	// the executor stays for the second.
	a.Launch(fw, &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: "shared"}},
		[]mesos.TaskInfo{taskInfo("quick"), taskInfo("slow", SimDurationLabel, "20ms")}, false)
	m.waitFor(t, "every executor exited", func() bool { return len(m.terminated) == n+1 })
	m.waitFor(t, "slow finished", func() bool { return m.hasState("slow", mesos.TASK_FINISHED) })
	for _, x := range m.terminated {
		if !x.custom {
			t.Fatalf("executor %s reported as a command executor", x.executor.Value)
		}
	}
	waitUntil(t, "every task completed", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		f := a.frameworks[fw.ID.Value]
		return f != nil && len(f.tasks) == 0
	})
	a.mu.Lock()
	f := a.frameworks[fw.ID.Value]
	execs, done := len(f.executors), len(a.completed)
	a.mu.Unlock()
	a.timers.mu.Lock()
	timers := len(a.timers.h) + len(a.timers.byID)
	a.timers.mu.Unlock()
	if execs != 0 || done > 2*maxCompleted || timers != 0 {
		t.Errorf("after %d tasks: %d executors, %d completed tasks (at most %d), %d timers; want 0, bounded, 0", n+2, execs, done, 2*maxCompleted, timers)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
