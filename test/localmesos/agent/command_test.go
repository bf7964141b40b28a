package agent

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// Tasks without an ExecutorInfo run under the command executor, which talks
// to the agent over the real executor API (mesos-go httpexec).
func TestCommandExecutor(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	fw := frameworkInfo(false, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)

	ok := commandTask("ok", `echo "hello $GREETING" > out.txt; exit 0`)
	ok.Command.Environment = &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "GREETING", Value: strPtr("world")}}}
	fail := commandTask("fail", "exit 3")
	shell := false
	sleeper := commandTask("sleeper", "")
	sleeper.Command = &mesos.CommandInfo{Shell: &shell, Value: strPtr("sleep"), Arguments: []string{"sleep", "30"}}
	grace := int64(5 * time.Second)
	sleeper.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: grace}}
	a.Launch(fw, nil, []mesos.TaskInfo{ok, fail, sleeper}, false)

	m.waitFor(t, "ok finished, fail failed, sleeper running", func() bool {
		return m.hasState("ok", mesos.TASK_FINISHED) && m.hasState("fail", mesos.TASK_FAILED) && m.hasState("sleeper", mesos.TASK_RUNNING)
	})
	a.Kill(*fw.ID, mesos.TaskID{Value: "sleeper"}, nil)
	m.waitFor(t, "sleeper killed and three executors gone", func() bool {
		return m.hasState("sleeper", mesos.TASK_KILLED) && len(m.terminated) == 3
	})

	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string][]mesos.TaskState{
		"ok":      {mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_FINISHED},
		"fail":    {mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_FAILED},
		"sleeper": {mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_KILLING, mesos.TASK_KILLED},
	}
	for task, states := range want {
		if got := m.statesOf(task); !equalStates(got, states) {
			t.Errorf("%s states = %v, want %v", task, got, states)
		}
	}
	msgs := map[string]string{"ok": "Command exited with status 0", "fail": "Command exited with status 3", "sleeper": "Command terminated with signal Terminated"}
	for task, msg := range msgs {
		u, _ := m.lastOf(task)
		if u.status.GetMessage() != msg {
			t.Errorf("%s final message = %q, want %q", task, u.status.GetMessage(), msg)
		}
	}
	for _, u := range m.updates {
		st := u.status
		if st.GetSource() != mesos.SOURCE_EXECUTOR || st.Reason != nil || !wire.ValidUUID(st.UUID) ||
			st.GetExecutorID().Value != st.TaskID.Value || st.ContainerStatus == nil {
			t.Errorf("command executor update %s/%s: source %s reason %v executor %v container_status %v",
				st.TaskID.Value, st.GetState(), st.GetSource(), st.Reason, st.ExecutorID, st.ContainerStatus)
		}
	}
	for _, term := range m.terminated {
		if term.custom {
			t.Errorf("command executor %s reported as custom", term.executor.Value)
		}
	}
	// The command ran in its sandbox with its environment.
	runs, _ := filepath.Glob(filepath.Join(a.cfg.WorkDir, "slaves", "*", "frameworks", "FW-0001", "executors", "ok", "runs", "*", "out.txt"))
	if len(runs) != 1 {
		t.Fatalf("out.txt in the ok sandbox: %v", runs)
	}
	if b, _ := os.ReadFile(runs[0]); string(b) != "hello world\n" {
		t.Errorf("out.txt = %q", b)
	}
}

func equalStates(a, b []mesos.TaskState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Without TASK_KILLING_STATE the kill goes straight to TASK_KILLED; a task
// that ignores SIGTERM gets SIGKILL after its kill policy's grace period.
func TestCommandExecutorKillGraceEscalates(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	fw := frameworkInfo(false)
	stubborn := commandTask("stubborn", `trap '' TERM; echo ready > ready; while :; do sleep 0.05; done`)
	stubborn.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(200 * time.Millisecond)}}
	a.Launch(fw, nil, []mesos.TaskInfo{stubborn}, false)
	m.waitFor(t, "stubborn running", func() bool { return m.hasState("stubborn", mesos.TASK_RUNNING) })
	// Wait until the trap is installed before killing.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r, _ := filepath.Glob(filepath.Join(a.cfg.WorkDir, "slaves", "*", "frameworks", "*", "executors", "stubborn", "runs", "*", "ready")); len(r) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("task never became ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.Kill(*fw.ID, mesos.TaskID{Value: "stubborn"}, nil)
	m.waitFor(t, "stubborn killed", func() bool { return m.hasState("stubborn", mesos.TASK_KILLED) })
	m.mu.Lock()
	defer m.mu.Unlock()
	if got := m.statesOf("stubborn"); !equalStates(got, []mesos.TaskState{mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_KILLED}) {
		t.Errorf("states = %v", got)
	}
	if u, _ := m.lastOf("stubborn"); u.status.GetMessage() != "Command terminated with signal Killed" {
		t.Errorf("message = %q, want SIGKILL after the grace period", u.status.GetMessage())
	}
}

// With checkpointing the command executor survives an agent restart: the
// task ends while the agent is down and the final update is replayed when
// the executor re-subscribes.
func TestCommandExecutorAcrossRestart(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.ExecutorReregistrationTimeout = 5 * time.Second })
	fw := frameworkInfo(true)
	a.Launch(fw, nil, []mesos.TaskInfo{commandTask("cp", "while [ ! -e go ]; do sleep 0.02; done; exit 4")}, false)
	m.waitFor(t, "cp running", func() bool { return m.hasState("cp", mesos.TASK_RUNNING) })
	a.mu.Lock()
	pgid := a.frameworks["FW-0001"].executors["cp"].childPgid
	a.mu.Unlock()
	a.Stop()
	runs, _ := filepath.Glob(filepath.Join(a.cfg.WorkDir, "slaves", "*", "frameworks", "*", "executors", "cp", "runs", "*"))
	if len(runs) != 1 {
		t.Fatalf("sandbox: %v", runs)
	}
	if err := os.WriteFile(filepath.Join(runs[0], "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The task ends while the agent is down.
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("task still running")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "cp failed with its exit status", func() bool { return m.hasState("cp", mesos.TASK_FAILED) })
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, _ := m.lastOf("cp"); u.status.GetMessage() != "Command exited with status 4" || u.status.GetSource() != mesos.SOURCE_EXECUTOR {
		t.Errorf("cp final update %+v", u.status)
	}
}

// SHUTDOWN of a command executor kills its task (TASK_KILLED from the
// executor) within the executor's grace period.
func TestCommandExecutorShutdown(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, func(c *Config) { c.ExecutorShutdownGracePeriod = 2 * time.Second })
	fw := frameworkInfo(false)
	a.Launch(fw, nil, []mesos.TaskInfo{commandTask("sd", `trap '' TERM; echo ready > ready; while :; do sleep 0.05; done`)}, false)
	m.waitFor(t, "sd running", func() bool { return m.hasState("sd", mesos.TASK_RUNNING) })
	// Shut down only once the trap is installed (else TERM ends the shell).
	m.waitFor(t, "sd trap installed", func() bool {
		r, _ := filepath.Glob(filepath.Join(a.cfg.WorkDir, "slaves", "*", "frameworks", "*", "executors", "sd", "runs", "*", "ready"))
		return len(r) == 1
	})
	a.ShutdownExecutor(*fw.ID, mesos.ExecutorID{Value: "sd"})
	m.waitFor(t, "sd killed and executor gone", func() bool {
		_, ok := m.terminationOf("sd")
		return ok && m.hasState("sd", mesos.TASK_KILLED)
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, _ := m.lastOf("sd"); u.status.GetSource() != mesos.SOURCE_EXECUTOR || u.status.GetMessage() != "Command terminated with signal Killed" {
		t.Errorf("sd final update %+v", u.status)
	}
}
