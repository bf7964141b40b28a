package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	mesostime "github.com/mesos/mesos-go/api/v1/lib/time"

	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

func TestFormatDurationParsesInMesosGo(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{5 * time.Second, "5secs"}, {time.Minute, "1mins"}, {15 * time.Minute, "15mins"},
		{1500 * time.Millisecond, "1.5secs"}, {250 * time.Millisecond, "250ms"}, {2 * time.Hour, "2hrs"},
		{3 * 24 * time.Hour, "3days"}, {14 * 24 * time.Hour, "2weeks"}, {7 * time.Microsecond, "7us"}, {9, "9ns"},
	} {
		got := FormatDuration(c.d)
		if got != c.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.d, got, c.want)
		}
		back, err := mesostime.ParseDuration(got)
		if err != nil || back != c.d {
			t.Errorf("mesos-go ParseDuration(%q) = %v, %v; want %v", got, back, err, c.d)
		}
	}
}

// A custom executor (a real child process) gets an environment that
// mesos-go's config.FromEnv accepts, runs in its sandbox, subscribes, and
// its updates reach the master with their uuids.
func TestCustomExecutorLaunchRunFinish(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.ExecutorShutdownGracePeriod = 3 * time.Second })
	fw := frameworkInfo(true)
	a.Launch(fw, testExecutor("exec-1", "finish"), []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 FINISHED", func() bool { return m.hasState("t1", mesos.TASK_FINISHED) })

	m.mu.Lock()
	if got := m.statesOf("t1"); len(got) != 2 || got[0] != mesos.TASK_RUNNING || got[1] != mesos.TASK_FINISHED {
		t.Errorf("t1 states = %v, want [RUNNING FINISHED]", got)
	}
	for _, u := range m.updates {
		if !wire.ValidUUID(u.status.UUID) || u.status.GetSource() != mesos.SOURCE_EXECUTOR ||
			u.status.GetAgentID().Value != a.ID().Value || u.status.GetExecutorID().Value != "exec-1" || u.status.Timestamp == nil {
			t.Errorf("forwarded update lacks uuid/source/agent/executor/timestamp: %+v", u.status)
		}
		if u.fw.Value != "FW-0001" {
			t.Errorf("update for framework %q", u.fw.Value)
		}
	}
	m.mu.Unlock()

	// The sandbox layout and the environment, as the executor saw it.
	pattern := filepath.Join(a.cfg.WorkDir, "slaves", a.ID().Value, "frameworks", "FW-0001", "executors", "exec-1", "runs", "*")
	runs, _ := filepath.Glob(pattern)
	if len(runs) != 1 {
		t.Fatalf("sandboxes matching %s: %v", pattern, runs)
	}
	sandbox := runs[0]
	var seen struct {
		Config config.Config
		Cwd    string
		Extra  string
	}
	b, err := os.ReadFile(filepath.Join(sandbox, "config.json"))
	if err != nil {
		t.Fatalf("executor wrote no config.json (stderr: %s): %v", readOr(filepath.Join(sandbox, "stderr")), err)
	}
	if err := json.Unmarshal(b, &seen); err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		FrameworkID: "FW-0001", ExecutorID: "exec-1", Directory: sandbox, Sandbox: sandbox,
		AgentEndpoint: a.Endpoint(), ExecutorShutdownGracePeriod: 3 * time.Second, Checkpoint: true,
		RecoveryTimeout: DefaultRecoveryTimeout, SubscriptionBackoffMax: DefaultExecutorReregistrationTimeout,
	}
	if seen.Config != want {
		t.Errorf("config.FromEnv in the executor = %+v\nwant %+v", seen.Config, want)
	}
	if seen.Cwd != sandbox {
		t.Errorf("executor cwd = %q, want the sandbox %q", seen.Cwd, sandbox)
	}
	if seen.Extra != "from-command-info" {
		t.Errorf("CommandInfo.environment not passed: EXTRA=%q", seen.Extra)
	}
	if out := readOr(filepath.Join(sandbox, "stdout")); !strings.Contains(out, "test executor started") {
		t.Errorf("stdout file = %q", out)
	}

	// SHUTDOWN: the executor exits; the master hears of it.
	a.ShutdownExecutor(*fw.ID, mesos.ExecutorID{Value: "exec-1"})
	m.waitFor(t, "exec-1 terminated", func() bool { _, ok := m.terminationOf("exec-1"); return ok })
	m.mu.Lock()
	term, _ := m.terminationOf("exec-1")
	m.mu.Unlock()
	if !term.custom || term.waitStatus != 0 {
		t.Errorf("termination = %+v, want custom with status 0", term)
	}
}

func readOr(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// Without acknowledgements the head update is resent with the same uuid,
// the next one waits, and the master learns the terminal state at once.
func TestStatusUpdateRetriedUntilAcknowledged(t *testing.T) {
	m := &fakeMaster{}
	a := newTestAgent(t, m, func(c *Config) {
		c.StatusUpdateRetry = 40 * time.Millisecond
		c.StatusUpdateRetryMax = 80 * time.Millisecond
	})
	fw := frameworkInfo(false)
	a.Launch(fw, testExecutor("exec-r", "finish"), []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "the master told of FINISHED while RUNNING waits", func() bool {
		return len(m.hints) == 1 && m.hints[0] == mesos.TASK_FINISHED
	})
	m.waitFor(t, "RUNNING resent 3 times and latest FINISHED", func() bool {
		n := 0
		latestFinished := false
		for _, u := range m.updates {
			if u.status.GetState() == mesos.TASK_RUNNING {
				n++
				latestFinished = latestFinished || u.latest == mesos.TASK_FINISHED
			}
		}
		return n >= 3 && latestFinished
	})
	m.mu.Lock()
	first := m.updates[0].status
	for _, u := range m.updates {
		if u.status.GetState() != mesos.TASK_RUNNING {
			t.Errorf("update %s forwarded before RUNNING was acknowledged", u.status.GetState())
		}
		if string(u.status.UUID) != string(first.UUID) {
			t.Errorf("a resend changed the uuid")
		}
	}
	m.mu.Unlock()

	a.Acknowledge(*fw.ID, first.TaskID, first.UUID)
	m.waitFor(t, "FINISHED after the ack", func() bool { return m.hasState("t1", mesos.TASK_FINISHED) })
	m.mu.Lock()
	fin, _ := m.lastOf("t1")
	m.mu.Unlock()
	a.Acknowledge(*fw.ID, fin.status.TaskID, fin.status.UUID)
	// Once everything is acknowledged the task is complete: nothing more is
	// resent, and the agent lists it among completed tasks.
	m.waitFor(t, "task completed", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		_, live := a.frameworks["FW-0001"].tasks["t1"]
		return !live
	})
	m.mu.Lock()
	n := len(m.updates)
	m.mu.Unlock()
	time.Sleep(250 * time.Millisecond) // several retry periods: nothing may be resent
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.updates) != n {
		t.Errorf("updates resent after acknowledgement: %s", m.describe())
	}
}

func TestExecutorRegistrationTimeout(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.ExecutorRegistrationTimeout = 300 * time.Millisecond })
	a.Launch(frameworkInfo(false), testExecutor("exec-slow", "nosubscribe"), []mesos.TaskInfo{taskInfo("t1"), taskInfo("t2")}, true)
	m.waitFor(t, "both tasks failed and executor terminated", func() bool {
		_, ok := m.terminationOf("exec-slow")
		return ok && m.hasState("t1", mesos.TASK_FAILED) && m.hasState("t2", mesos.TASK_FAILED)
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	u, _ := m.lastOf("t1")
	if u.status.GetReason() != mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT || u.status.GetSource() != mesos.SOURCE_AGENT || !wire.ValidUUID(u.status.UUID) {
		t.Errorf("t1 update = %+v, want TASK_FAILED REASON_EXECUTOR_REGISTRATION_TIMEOUT from the agent with a uuid", u.status)
	}
	term, _ := m.terminationOf("exec-slow")
	if ws := syscall.WaitStatus(term.waitStatus); !term.custom || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("termination = %+v, want a custom executor killed by SIGKILL", term)
	}
}

func TestExecutorCrashFailsTasks(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	a.Launch(frameworkInfo(false), testExecutor("exec-crash", "crash"), []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 failed", func() bool { return m.hasState("t1", mesos.TASK_FAILED) })
	m.waitFor(t, "executor terminated", func() bool { _, ok := m.terminationOf("exec-crash"); return ok })
	m.mu.Lock()
	defer m.mu.Unlock()
	if got := m.statesOf("t1"); len(got) != 2 || got[0] != mesos.TASK_RUNNING {
		t.Errorf("t1 states = %v, want [RUNNING FAILED]", got)
	}
	u, _ := m.lastOf("t1")
	if u.status.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || u.status.GetSource() != mesos.SOURCE_AGENT || !wire.ValidUUID(u.status.UUID) {
		t.Errorf("t1 final update = %+v", u.status)
	}
	term, _ := m.terminationOf("exec-crash")
	if ws := syscall.WaitStatus(term.waitStatus); !term.custom || !ws.Exited() || ws.ExitStatus() != 7 {
		t.Errorf("termination = %+v, want custom, exit status 7", term)
	}
}

func TestKillDuringLaunch(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	fw := frameworkInfo(false)
	a.Launch(fw, testExecutor("exec-k", "nosubscribe"), []mesos.TaskInfo{taskInfo("t1")}, false)
	a.Kill(*fw.ID, mesos.TaskID{Value: "t1"}, nil)
	m.waitFor(t, "t1 killed and executor gone", func() bool {
		_, ok := m.terminationOf("exec-k")
		return ok && m.hasState("t1", mesos.TASK_KILLED)
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	u, _ := m.lastOf("t1")
	if u.status.GetReason() != mesos.REASON_TASK_KILLED_DURING_LAUNCH || u.status.GetSource() != mesos.SOURCE_AGENT || !wire.ValidUUID(u.status.UUID) {
		t.Errorf("t1 update = %+v", u.status)
	}
	if got := m.statesOf("t1"); len(got) != 1 {
		t.Errorf("t1 states = %v, want only TASK_KILLED", got)
	}
}

// A delivered task is killed by a KILL event to its executor.
func TestKillDeliveredTask(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	fw := frameworkInfo(false)
	a.Launch(fw, testExecutor("exec-h", "hang"), []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 running", func() bool { return m.hasState("t1", mesos.TASK_RUNNING) })
	a.Kill(*fw.ID, mesos.TaskID{Value: "t1"}, nil)
	m.waitFor(t, "t1 killed", func() bool { return m.hasState("t1", mesos.TASK_KILLED) })
	m.mu.Lock()
	u, _ := m.lastOf("t1")
	m.mu.Unlock()
	if u.status.GetSource() != mesos.SOURCE_EXECUTOR {
		t.Errorf("kill answered by %s, want the executor", u.status.GetSource())
	}
}

// The agent dies and comes back: the executor (checkpointing) re-subscribes
// and replays the final status it could not deliver meanwhile.
func TestRestartExecutorResubscribesWithFinalStatus(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.ExecutorReregistrationTimeout = 5 * time.Second })
	fw := frameworkInfo(true)
	a.Launch(fw, testExecutor("exec-cp", "finish-on-disconnect"), []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 running", func() bool { return m.hasState("t1", mesos.TASK_RUNNING) })
	endpoint, id := a.Endpoint(), a.ID()

	a.Stop()
	m.waitFor(t, "AgentGone", func() bool { return m.gone == 1 })
	if err := a.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.Endpoint() != endpoint || a.ID() != id {
		t.Errorf("restart moved the agent: %s %s -> %s %s", endpoint, id.Value, a.Endpoint(), a.ID().Value)
	}
	m.mu.Lock()
	reg := m.registrations[len(m.registrations)-1]
	m.mu.Unlock()
	if reg.info.ID == nil || reg.info.ID.Value != id.Value || len(reg.tasks) != 1 || len(reg.executors) != 1 {
		t.Errorf("re-registration = id %v, %d tasks, %d executors; want the old id, 1 and 1", reg.info.ID, len(reg.tasks), len(reg.executors))
	}
	m.waitFor(t, "t1 FINISHED replayed", func() bool { return m.hasState("t1", mesos.TASK_FINISHED) })
	m.mu.Lock()
	u, _ := m.lastOf("t1")
	m.mu.Unlock()
	if u.status.GetSource() != mesos.SOURCE_EXECUTOR {
		t.Errorf("final update = %+v, want the executor's own", u.status)
	}
	// The executor stays subscribed: it is not killed by the re-registration
	// timeout.
	a.ShutdownExecutor(*fw.ID, mesos.ExecutorID{Value: "exec-cp"})
	m.waitFor(t, "exec-cp terminated", func() bool { _, ok := m.terminationOf("exec-cp"); return ok })
	m.mu.Lock()
	term, _ := m.terminationOf("exec-cp")
	m.mu.Unlock()
	if term.waitStatus != 0 {
		t.Errorf("executor ended with status %d, want a clean exit after SHUTDOWN", term.waitStatus)
	}
}

// An executor that does not re-subscribe after a restart is killed, and its
// tasks fail.
func TestRestartKillsExecutorsThatDoNotResubscribe(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.ExecutorReregistrationTimeout = 300 * time.Millisecond })
	fw := frameworkInfo(true)
	a.Launch(fw, testExecutor("exec-gone", "no-resubscribe"), []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 running", func() bool { return m.hasState("t1", mesos.TASK_RUNNING) })
	a.Stop()
	if err := a.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "t1 failed, executor gone", func() bool {
		_, ok := m.terminationOf("exec-gone")
		return ok && m.hasState("t1", mesos.TASK_FAILED)
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	u, _ := m.lastOf("t1")
	if u.status.GetReason() != mesos.REASON_EXECUTOR_REREGISTRATION_TIMEOUT || u.status.GetSource() != mesos.SOURCE_AGENT {
		t.Errorf("t1 update = %+v", u.status)
	}
}

// KillHost kills executor processes; when the host comes back the master
// learns that they died.
func TestKillHostKillsExecutors(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	fw := frameworkInfo(true)
	a.Launch(fw, testExecutor("exec-host", "hang"), []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 running", func() bool { return m.hasState("t1", mesos.TASK_RUNNING) })
	a.mu.Lock()
	pgid := a.frameworks["FW-0001"].executors["exec-host"].pgid
	a.mu.Unlock()
	a.KillHost()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("executor process group still alive after KillHost")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "t1 failed after the host came back", func() bool { return m.hasState("t1", mesos.TASK_FAILED) })
}

// An executor that ignores SHUTDOWN is killed after its grace period (here
// from ExecutorInfo.shutdown_grace_period); its tasks fail.
func TestShutdownGracePeriodThenKill(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	fw := frameworkInfo(false)
	ei := testExecutor("exec-stubborn", "ignore-shutdown")
	ei.ShutdownGracePeriod = &mesos.DurationInfo{Nanoseconds: int64(200 * time.Millisecond)}
	a.Launch(fw, ei, []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 running", func() bool { return m.hasState("t1", mesos.TASK_RUNNING) })
	start := time.Now()
	a.ShutdownExecutor(*fw.ID, ei.ExecutorID)
	m.waitFor(t, "executor killed", func() bool { _, ok := m.terminationOf("exec-stubborn"); return ok })
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("killed after %v, before the 200ms grace period", waited)
	}
	m.waitFor(t, "t1 failed", func() bool { return m.hasState("t1", mesos.TASK_FAILED) })
	m.mu.Lock()
	defer m.mu.Unlock()
	term, _ := m.terminationOf("exec-stubborn")
	if ws := syscall.WaitStatus(term.waitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("termination %+v, want SIGKILL", term)
	}
	if u, _ := m.lastOf("t1"); u.status.GetReason() != mesos.REASON_EXECUTOR_TERMINATED {
		t.Errorf("t1 update %+v", u.status)
	}
}

// A task delivered just before the agent died, which the re-subscribing
// executor does not list, is reported lost (dropped if partition aware).
func TestResubscribeDropsTasksTheExecutorNeverGot(t *testing.T) {
	for _, c := range []struct {
		name string
		caps []mesos.FrameworkInfo_Capability_Type
		want mesos.TaskState
	}{
		{"lost", nil, mesos.TASK_LOST},
		{"dropped", []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_PARTITION_AWARE}, mesos.TASK_DROPPED},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &fakeMaster{autoAck: true}
			a := newTestAgent(t, m, func(c *Config) { c.ExecutorReregistrationTimeout = 10 * time.Second })
			fw := frameworkInfo(true, c.caps...)
			a.Launch(fw, testExecutor("exec-x", "nosubscribe"), []mesos.TaskInfo{taskInfo("kept"), taskInfo("missed")}, false)
			ec := newExecClient(a.Endpoint(), "FW-0001", "exec-x", codecs.MediaTypeProtobuf)
			events := ec.subscribe(t, calls.Subscribe(nil, nil))
			next(t, events, executor.Event_SUBSCRIBED)
			kept := next(t, events, executor.Event_LAUNCH).Launch.Task
			next(t, events, executor.Event_LAUNCH)
			a.Stop()
			if err := a.Restart(context.Background()); err != nil {
				t.Fatal(err)
			}
			events = ec.subscribe(t, calls.Subscribe([]mesos.TaskInfo{kept}, nil))
			next(t, events, executor.Event_SUBSCRIBED)
			m.waitFor(t, "missed reported", func() bool { return m.hasState("missed", c.want) })
			m.mu.Lock()
			defer m.mu.Unlock()
			if u, _ := m.lastOf("missed"); u.status.GetReason() != mesos.REASON_AGENT_RESTARTED || u.status.GetSource() != mesos.SOURCE_AGENT {
				t.Errorf("missed update %+v", u.status)
			}
			if got := m.statesOf("kept"); len(got) != 0 {
				t.Errorf("kept got updates %v", got)
			}
		})
	}
}
