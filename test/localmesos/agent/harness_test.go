package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"

	"github.com/gleaner-project/gleaner/test/localmesos/link"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// The test binary doubles as a custom executor: started with
// TEST_EXECUTOR_MODE set, it runs testExecutorMain instead of the tests.
const modeEnv = "TEST_EXECUTOR_MODE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(modeEnv); mode != "" {
		testExecutorMain(mode)
		return
	}
	os.Exit(m.Run())
}

// testExecutorMain is a small mesos-go executor. Modes:
//
//	finish               RUNNING then FINISHED for each task
//	hang                 RUNNING; KILL → KILLED; SHUTDOWN → KILLED for all, exit 0
//	crash                RUNNING then exit 7
//	nosubscribe          never subscribes
//	finish-on-disconnect like hang, but when the agent goes away the tasks
//	                     finish and the FINISHED updates wait to be replayed
//	no-resubscribe       like hang, but never re-subscribes
//	ignore-shutdown      like hang, but ignores SHUTDOWN
func testExecutorMain(mode string) {
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "config.FromEnv:", err)
		os.Exit(3)
	}
	cwd, _ := os.Getwd()
	b, _ := json.Marshal(map[string]any{"config": cfg, "cwd": cwd, "extra": os.Getenv("EXTRA")})
	_ = os.WriteFile(filepath.Join(cfg.Sandbox, "config.json"), b, 0o644)
	fmt.Println("test executor started in mode", mode)
	if mode == "nosubscribe" {
		select {}
	}
	ctx := context.Background()
	cli := httpcli.New(httpcli.Endpoint("http://" + cfg.AgentEndpoint + "/api/v1/executor"))
	opts := executor.CallOptions{calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)}
	sender := calls.SenderWith(httpexec.NewSender(cli.Send), opts...)
	subscriber := calls.SenderWith(httpexec.NewSender(cli.Send, httpcli.Close(true)), opts...)
	unackedTasks := map[string]mesos.TaskInfo{}
	unackedUpdates := map[string]executor.Call_Update{}
	var running []mesos.TaskID
	status := func(id mesos.TaskID, state mesos.TaskState) mesos.TaskStatus {
		return mesos.TaskStatus{TaskID: id, State: state.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(), UUID: wire.NewUUID()}
	}
	update := func(id mesos.TaskID, state mesos.TaskState) {
		st := status(id, state)
		unackedUpdates[string(st.UUID)] = executor.Call_Update{Status: st}
		if err := calls.SendNoData(ctx, sender, calls.NonStreaming(calls.Update(st))); err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
		}
	}
	deadline := time.Now().Add(cfg.RecoveryTimeout)
	for {
		var tasks []mesos.TaskInfo
		for _, t := range unackedTasks {
			tasks = append(tasks, t)
		}
		var updates []executor.Call_Update
		for _, u := range unackedUpdates {
			updates = append(updates, u)
		}
		resp, err := subscriber.Send(ctx, calls.NonStreaming(calls.Subscribe(tasks, updates)))
		if err == nil {
			deadline = time.Now().Add(cfg.RecoveryTimeout)
			for {
				var e executor.Event
				if err = resp.Decode(&e); err != nil {
					break
				}
				switch e.Type {
				case executor.Event_LAUNCH:
					t := e.Launch.Task
					unackedTasks[t.TaskID.Value] = t
					update(t.TaskID, mesos.TASK_RUNNING)
					switch mode {
					case "finish":
						update(t.TaskID, mesos.TASK_FINISHED)
					case "crash":
						time.Sleep(50 * time.Millisecond)
						os.Exit(7)
					default:
						running = append(running, t.TaskID)
					}
				case executor.Event_KILL:
					update(e.Kill.TaskID, mesos.TASK_KILLED)
				case executor.Event_ACKNOWLEDGED:
					delete(unackedTasks, e.Acknowledged.TaskID.Value)
					delete(unackedUpdates, string(e.Acknowledged.UUID))
				case executor.Event_SHUTDOWN:
					if mode == "ignore-shutdown" {
						continue
					}
					for _, id := range running {
						update(id, mesos.TASK_KILLED)
					}
					os.Exit(0)
				}
			}
			resp.Close()
		}
		switch mode {
		case "finish-on-disconnect":
			for _, id := range running {
				st := status(id, mesos.TASK_FINISHED)
				unackedUpdates[string(st.UUID)] = executor.Call_Update{Status: st}
			}
			running = nil
		case "no-resubscribe":
			select {}
		}
		if !cfg.Checkpoint || time.Now().After(deadline) {
			os.Exit(0)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- fake master ----

type update struct {
	fw     mesos.FrameworkID
	status mesos.TaskStatus
	latest mesos.TaskState
}

type termination struct {
	fw         mesos.FrameworkID
	executor   mesos.ExecutorID
	custom     bool
	waitStatus int32
}

type registration struct {
	info      mesos.AgentInfo
	tasks     []mesos.Task
	executors []link.ExecutorRef
}

// fakeMaster records every call; with autoAck it acknowledges each status
// update as a scheduler would.
type fakeMaster struct {
	mu            sync.Mutex
	autoAck       bool
	agent         link.Agent
	registrations []registration
	gone          int
	updates       []update
	terminated    []termination
	messages      [][]byte
	hints         []mesos.TaskState // TaskTerminated calls
}

var (
	_ link.Master            = (*fakeMaster)(nil)
	_ link.TaskStateNotifier = (*fakeMaster)(nil)
)

func (m *fakeMaster) TaskTerminated(_ mesos.AgentID, _ mesos.FrameworkID, _ mesos.TaskID, state mesos.TaskState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hints = append(m.hints, state)
}

func (m *fakeMaster) RegisterAgent(a link.Agent, info mesos.AgentInfo, tasks []mesos.Task, execs []link.ExecutorRef) (mesos.AgentID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.agent = a
	m.registrations = append(m.registrations, registration{info, tasks, execs})
	if info.ID != nil {
		return *info.ID, nil
	}
	return mesos.AgentID{Value: "MASTER-S" + fmt.Sprint(len(m.registrations))}, nil
}

func (m *fakeMaster) AgentGone(mesos.AgentID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gone++
}

func (m *fakeMaster) StatusUpdate(_ mesos.AgentID, fw mesos.FrameworkID, st mesos.TaskStatus, latest mesos.TaskState) {
	m.mu.Lock()
	m.updates = append(m.updates, update{fw, st, latest})
	ack, a := m.autoAck, m.agent
	m.mu.Unlock()
	if ack {
		go a.Acknowledge(fw, st.TaskID, st.UUID)
	}
}

func (m *fakeMaster) ExecutorMessage(_ mesos.AgentID, _ mesos.FrameworkID, _ mesos.ExecutorID, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.messages = append(m.messages, data)
}

func (m *fakeMaster) ExecutorTerminated(_ mesos.AgentID, fw mesos.FrameworkID, ex mesos.ExecutorID, custom bool, ws int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.terminated = append(m.terminated, termination{fw, ex, custom, ws})
}

// waitFor polls cond (under the master's lock) until it holds.
func (m *fakeMaster) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m.mu.Lock()
		ok := cond()
		m.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			m.mu.Lock()
			defer m.mu.Unlock()
			t.Fatalf("timed out waiting for %s; updates: %s; terminated: %+v", what, m.describe(), m.terminated)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *fakeMaster) describe() string {
	var parts []string
	for _, u := range m.updates {
		parts = append(parts, fmt.Sprintf("%s:%s(%s,%s,%q,latest %s)", u.status.TaskID.Value, u.status.GetState(),
			u.status.GetSource(), u.status.GetReason(), u.status.GetMessage(), u.latest))
	}
	return strings.Join(parts, " ")
}

// statesOf lists the distinct updates (by uuid) forwarded for a task, in
// order; resends of an update are not repeated.
func (m *fakeMaster) statesOf(task string) []mesos.TaskState {
	var out []mesos.TaskState
	seen := map[string]bool{}
	for _, u := range m.updates {
		if u.status.TaskID.Value == task && !seen[string(u.status.UUID)] {
			seen[string(u.status.UUID)] = true
			out = append(out, u.status.GetState())
		}
	}
	return out
}

// lastOf is the newest update forwarded for a task.
func (m *fakeMaster) lastOf(task string) (update, bool) {
	for i := len(m.updates) - 1; i >= 0; i-- {
		if m.updates[i].status.TaskID.Value == task {
			return m.updates[i], true
		}
	}
	return update{}, false
}

func (m *fakeMaster) hasState(task string, s mesos.TaskState) bool {
	for _, got := range m.statesOf(task) {
		if got == s {
			return true
		}
	}
	return false
}

func (m *fakeMaster) terminationOf(execID string) (termination, bool) {
	for _, x := range m.terminated {
		if x.executor.Value == execID {
			return x, true
		}
	}
	return termination{}, false
}

// ---- helpers ----

func newTestAgent(t *testing.T, m *fakeMaster, mutate func(*Config)) *Agent {
	t.Helper()
	cfg := Config{
		Hostname:          "local-agent-1",
		Resources:         "cpus:4;mem:4096;disk:10240",
		Attributes:        "rack:r1",
		WorkDir:           t.TempDir(),
		Master:            m,
		StatusUpdateRetry: 10 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func frameworkInfo(checkpoint bool, caps ...mesos.FrameworkInfo_Capability_Type) mesos.FrameworkInfo {
	id := mesos.FrameworkID{Value: "FW-0001"}
	fi := mesos.FrameworkInfo{User: "root", Name: "test", ID: &id, Checkpoint: &checkpoint}
	for _, c := range caps {
		fi.Capabilities = append(fi.Capabilities, mesos.FrameworkInfo_Capability{Type: c})
	}
	return fi
}

// testExecutor is an ExecutorInfo that runs this test binary in a mode.
func testExecutor(id, mode string) *mesos.ExecutorInfo {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	shell := false
	return &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_CUSTOM,
		ExecutorID: mesos.ExecutorID{Value: id},
		Command: &mesos.CommandInfo{
			Value:     &self,
			Shell:     &shell,
			Arguments: []string{"test-executor"},
			Environment: &mesos.Environment{Variables: []mesos.Environment_Variable{
				{Name: modeEnv, Value: &mode},
				{Name: "EXTRA", Value: strPtr("from-command-info")},
			}},
		},
	}
}

func strPtr(s string) *string { return &s }

func taskInfo(id string, labels ...string) mesos.TaskInfo {
	ti := mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: "MASTER-S1"}}
	if len(labels) > 0 {
		ti.Labels = &mesos.Labels{}
		for i := 0; i+1 < len(labels); i += 2 {
			ti.Labels.Labels = append(ti.Labels.Labels, mesos.Label{Key: labels[i], Value: strPtr(labels[i+1])})
		}
	}
	return ti
}

func commandTask(id, shellCmd string) mesos.TaskInfo {
	ti := taskInfo(id)
	ti.Command = &mesos.CommandInfo{Value: &shellCmd}
	return ti
}
