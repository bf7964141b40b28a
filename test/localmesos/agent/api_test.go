package agent

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	agentpb "github.com/mesos/mesos-go/api/v1/lib/agent"
	agentcalls "github.com/mesos/mesos-go/api/v1/lib/agent/calls"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpagent"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"

	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// execClient plays an executor from the test with mesos-go's httpexec.
type execClient struct {
	sender, subscriber calls.Sender
}

func newExecClient(endpoint, fwID, execID string, codec encoding.MediaType) *execClient {
	cli := httpcli.New(httpcli.Endpoint("http://"+endpoint+"/api/v1/executor"), httpcli.Codec(codecs.ByMediaType[codec]))
	opts := executor.CallOptions{calls.Framework(fwID), calls.Executor(execID)}
	return &execClient{
		sender:     calls.SenderWith(httpexec.NewSender(cli.Send), opts...),
		subscriber: calls.SenderWith(httpexec.NewSender(cli.Send, httpcli.Close(true)), opts...),
	}
}

// events decodes a subscription into a channel, closed when it ends.
func (c *execClient) subscribe(t *testing.T, call *executor.Call) <-chan *executor.Event {
	t.Helper()
	resp, err := c.subscriber.Send(context.Background(), calls.NonStreaming(call))
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	ch := make(chan *executor.Event, 64)
	go func() {
		defer close(ch)
		defer resp.Close()
		for {
			var e executor.Event
			if err := resp.Decode(&e); err != nil {
				return
			}
			ch <- &e
		}
	}()
	t.Cleanup(func() { resp.Close() })
	return ch
}

func next(t *testing.T, ch <-chan *executor.Event, want executor.Event_Type) *executor.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatalf("stream ended, want %s", want)
		}
		if e.Type != want {
			t.Fatalf("event %s, want %s", e.Type, want)
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s event", want)
	}
	return nil
}

// post sends a raw executor call and returns the status and body.
func post(t *testing.T, url, contentType string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func marshal(t *testing.T, c *executor.Call) []byte {
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExecutorAPI(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	fw := frameworkInfo(false)
	// The real process never subscribes; the test speaks for the executor.
	a.Launch(fw, testExecutor("exec-api", "nosubscribe"), []mesos.TaskInfo{taskInfo("g1"), taskInfo("g2")}, true)
	url := "http://" + a.Endpoint() + "/api/v1/executor"
	ids := func(c *executor.Call) *executor.Call {
		c.FrameworkID = *fw.ID
		c.ExecutorID = mesos.ExecutorID{Value: "exec-api"}
		return c
	}
	goodStatus := func(task string, state mesos.TaskState) mesos.TaskStatus {
		return mesos.TaskStatus{TaskID: mesos.TaskID{Value: task}, State: state.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(), UUID: wire.NewUUID()}
	}

	// Before SUBSCRIBE.
	code, body := post(t, url, wire.MediaProtobuf, marshal(t, ids(calls.Update(goodStatus("g1", mesos.TASK_RUNNING)))))
	if code != http.StatusForbidden || !strings.Contains(body, "not subscribed") {
		t.Errorf("UPDATE before SUBSCRIBE = %d %q, want 403", code, body)
	}
	for _, c := range []struct {
		name, ct string
		body     []byte
		want     int
		msg      string
	}{
		{"no content type", "", []byte("{}"), 400, "Content-Type"},
		{"text/plain", "text/plain", []byte("x"), 415, ""},
		{"malformed", wire.MediaJSON, []byte("{nope"), 400, "parse"},
		{"unknown framework", wire.MediaJSON, []byte(`{"type":"MESSAGE","framework_id":{"value":"nope"},"executor_id":{"value":"exec-api"},"message":{"data":""}}`), 400, "Framework cannot be found"},
		{"unknown executor", wire.MediaJSON, []byte(`{"type":"MESSAGE","framework_id":{"value":"FW-0001"},"executor_id":{"value":"nope"},"message":{"data":""}}`), 400, "Executor cannot be found"},
		{"no executor id", wire.MediaJSON, []byte(`{"type":"HEARTBEAT","framework_id":{"value":"FW-0001"}}`), 400, "executor_id"},
		{"heartbeat for anything", wire.MediaJSON, []byte(`{"type":"HEARTBEAT","framework_id":{"value":"x"},"executor_id":{"value":"y"}}`), 202, ""},
	} {
		code, body := post(t, url, c.ct, c.body)
		if code != c.want || !strings.Contains(body, c.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, code, body, c.want, c.msg)
		}
	}
	if resp, err := http.Get(url); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET = %v %v, want 405", resp, err)
	}

	// SUBSCRIBE through mesos-go; the alias path works as well.
	ec := newExecClient(a.Endpoint(), "FW-0001", "exec-api", codecs.MediaTypeProtobuf)
	events := ec.subscribe(t, calls.Subscribe(nil, nil))
	sub := next(t, events, executor.Event_SUBSCRIBED).Subscribed
	if sub.ExecutorInfo.ExecutorID.Value != "exec-api" || sub.FrameworkInfo.GetID().Value != "FW-0001" ||
		sub.AgentInfo.Hostname != "local-agent-1" || sub.AgentInfo.GetID().Value != a.ID().Value ||
		sub.AgentInfo.GetPort() == 0 || sub.ContainerID == nil || sub.ContainerID.Value == "" {
		t.Errorf("SUBSCRIBED = %+v", sub)
	}
	group := next(t, events, executor.Event_LAUNCH_GROUP).LaunchGroup.TaskGroup.Tasks
	if len(group) != 2 || group[0].TaskID.Value != "g1" || group[1].TaskID.Value != "g2" {
		t.Errorf("LAUNCH_GROUP tasks = %v", group)
	}

	// UPDATE validation.
	bad := []struct {
		name string
		st   func() mesos.TaskStatus
		msg  string
	}{
		{"short uuid", func() mesos.TaskStatus { s := goodStatus("g1", mesos.TASK_RUNNING); s.UUID = []byte("abc"); return s }, "UUID"},
		{"no version", func() mesos.TaskStatus { s := goodStatus("g1", mesos.TASK_RUNNING); s.UUID[6] = 0; return s }, "UUID"},
		{"source master", func() mesos.TaskStatus {
			s := goodStatus("g1", mesos.TASK_RUNNING)
			s.Source = mesos.SOURCE_MASTER.Enum()
			return s
		}, "SOURCE_EXECUTOR"},
		{"staging", func() mesos.TaskStatus { return goodStatus("g1", mesos.TASK_STAGING) }, "TASK_STAGING"},
		{"other executor", func() mesos.TaskStatus {
			s := goodStatus("g1", mesos.TASK_RUNNING)
			s.ExecutorID = &mesos.ExecutorID{Value: "other"}
			return s
		}, "does not match"},
	}
	for _, c := range bad {
		code, body := post(t, "http://"+a.Endpoint()+"/slave(1)/api/v1/executor", wire.MediaProtobuf, marshal(t, ids(calls.Update(c.st()))))
		if code != http.StatusBadRequest || !strings.Contains(body, c.msg) {
			t.Errorf("UPDATE %s = %d %q, want 400 containing %q", c.name, code, body, c.msg)
		}
	}
	st := goodStatus("g1", mesos.TASK_RUNNING)
	if err := calls.SendNoData(context.Background(), ec.sender, calls.NonStreaming(calls.Update(st))); err != nil {
		t.Fatalf("valid UPDATE: %v", err)
	}
	ack := next(t, events, executor.Event_ACKNOWLEDGED).Acknowledged
	if ack.TaskID.Value != "g1" || !bytes.Equal(ack.UUID, st.UUID) {
		t.Errorf("ACKNOWLEDGED = %+v", ack)
	}
	m.waitFor(t, "g1 RUNNING at the master", func() bool { return m.hasState("g1", mesos.TASK_RUNNING) })

	// MESSAGE both ways.
	if err := calls.SendNoData(context.Background(), ec.sender, calls.NonStreaming(calls.Message([]byte("to-scheduler")))); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "executor message", func() bool { return len(m.messages) == 1 && string(m.messages[0]) == "to-scheduler" })
	a.FrameworkMessage(*fw.ID, mesos.ExecutorID{Value: "exec-api"}, []byte("to-executor"))
	if got := next(t, events, executor.Event_MESSAGE).Message.Data; string(got) != "to-executor" {
		t.Errorf("MESSAGE = %q", got)
	}

	// KILL goes to the executor.
	a.Kill(*fw.ID, mesos.TaskID{Value: "g2"}, &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: 7}})
	if k := next(t, events, executor.Event_KILL).Kill; k.TaskID.Value != "g2" || k.KillPolicy.GetGracePeriod().Nanoseconds != 7 {
		t.Errorf("KILL = %+v", k)
	}

	// A newer SUBSCRIBE (JSON this time) replaces the old stream; the
	// unacknowledged update it carries is not forwarded twice.
	jc := newExecClient(a.Endpoint(), "FW-0001", "exec-api", codecs.MediaTypeJSON)
	events2 := jc.subscribe(t, calls.Subscribe([]mesos.TaskInfo{group[1]}, []executor.Call_Update{{Status: st}}))
	next(t, events2, executor.Event_SUBSCRIBED)
	select {
	case e, ok := <-events:
		if ok {
			t.Errorf("old stream got %s after being replaced", e.Type)
		}
	case <-time.After(10 * time.Second):
		t.Error("old stream still open after a newer SUBSCRIBE")
	}
	a.ShutdownExecutor(*fw.ID, mesos.ExecutorID{Value: "exec-api"})
	next(t, events2, executor.Event_SHUTDOWN)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, u := range m.updates {
		if bytes.Equal(u.status.UUID, st.UUID) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("replayed update forwarded %d times, want 1", n)
	}
}

func TestOperatorAPI(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	fw := frameworkInfo(false)
	a.Launch(fw, testExecutor("exec-op", "hang"), []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 running", func() bool { return m.hasState("t1", mesos.TASK_RUNNING) })

	cli := httpcli.New(httpcli.Endpoint("http://" + a.Endpoint() + "/api/v1"))
	sender := httpagent.NewSender(cli.Send)
	get := func(c *agentpb.Call) *agentpb.Response {
		t.Helper()
		resp, err := sender.Send(context.Background(), agentcalls.NonStreaming(c))
		if err != nil {
			t.Fatalf("%s: %v", c.Type, err)
		}
		defer resp.Close()
		var r agentpb.Response
		if err := resp.Decode(&r); err != nil {
			t.Fatalf("%s decode: %v", c.Type, err)
		}
		return &r
	}
	if r := get(agentcalls.GetHealth()); !r.GetGetHealth().GetHealthy() {
		t.Errorf("GET_HEALTH = %+v", r)
	}
	if r := get(agentcalls.GetAgent()); r.GetGetAgent().GetAgentInfo().Hostname != "local-agent-1" || len(r.GetGetAgent().GetAgentInfo().Attributes) != 1 {
		t.Errorf("GET_AGENT = %+v", r.GetGetAgent())
	}
	st := get(agentcalls.GetState()).GetGetState()
	tasks := st.GetGetTasks().LaunchedTasks
	if len(tasks) != 1 || tasks[0].TaskID.Value != "t1" || tasks[0].GetState() != mesos.TASK_RUNNING || tasks[0].GetExecutorID().Value != "exec-op" {
		t.Errorf("GET_STATE tasks = %+v", st.GetGetTasks())
	}
	if ex := st.GetGetExecutors().Executors; len(ex) != 1 || ex[0].ExecutorInfo.ExecutorID.Value != "exec-op" {
		t.Errorf("GET_STATE executors = %+v", st.GetGetExecutors())
	}
	if fws := st.GetGetFrameworks().Frameworks; len(fws) != 1 || fws[0].FrameworkInfo.GetID().Value != "FW-0001" {
		t.Errorf("GET_STATE frameworks = %+v", st.GetGetFrameworks())
	}
	if r := get(agentcalls.GetExecutors()); len(r.GetGetExecutors().Executors) != 1 {
		t.Errorf("GET_EXECUTORS = %+v", r.GetGetExecutors())
	}
	if r := get(agentcalls.GetTasks()); len(r.GetGetTasks().LaunchedTasks) != 1 {
		t.Errorf("GET_TASKS = %+v", r.GetGetTasks())
	}
	code, body := post(t, "http://"+a.Endpoint()+"/api/v1", wire.MediaJSON, []byte(`{}`))
	if code != http.StatusBadRequest || !strings.Contains(body, "type") {
		t.Errorf("call without type = %d %q", code, body)
	}
}

// A custom executor's CommandInfo.URIs are fetched into its sandbox before
// it starts.
func TestCustomExecutorFetchesURIs(t *testing.T) {
	m := &fakeMaster{autoAck: true}
	a := newTestAgent(t, m, nil)
	dir := t.TempDir()
	script := dir + "/run-executor.sh"
	self := testExecutor("x", "finish").Command.GetValue()
	if err := writeScript(script, "#!/bin/sh\nexec "+self+" test-executor\n"); err != nil {
		t.Fatal(err)
	}
	ei := testExecutor("exec-fetch", "finish")
	yes := true
	ei.Command.Value = strPtr("./run-executor.sh")
	ei.Command.Arguments = nil
	ei.Command.Shell = &yes
	ei.Command.URIs = []mesos.CommandInfo_URI{{Value: "file://" + script, Executable: &yes}}
	a.Launch(frameworkInfo(false), ei, []mesos.TaskInfo{taskInfo("t1")}, false)
	m.waitFor(t, "t1 finished", func() bool { return m.hasState("t1", mesos.TASK_FINISHED) })

	// A URI that cannot be fetched fails the launch.
	bad := testExecutor("exec-nofetch", "finish")
	bad.Command.URIs = []mesos.CommandInfo_URI{{Value: "file:///does/not/exist"}}
	a.Launch(frameworkInfo(false), bad, []mesos.TaskInfo{taskInfo("t2")}, false)
	m.waitFor(t, "t2 failed", func() bool { return m.hasState("t2", mesos.TASK_FAILED) })
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, _ := m.lastOf("t2"); u.status.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED || !strings.Contains(u.status.GetMessage(), "/does/not/exist") {
		t.Errorf("t2 update = %+v", u.status)
	}
}

func writeScript(path, body string) error { return os.WriteFile(path, []byte(body), 0o755) }
