package localmesos

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

// Every error path of the master's scheduler and operator APIs and of the
// agent's executor and operator APIs answers the status and the text/plain
// body a Mesos 1.12 master or agent writes (src/master/http.cpp,
// src/slave/http.cpp, src/master/validation.cpp,
// src/common/validation.cpp). A body ending in "…" is compared as a prefix:
// the rest is the JSON parser's own message.
func TestErrorBodiesAsMesos112(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 1, Simulated: true})
	s := rawSubscribe(t, c, mesos.FrameworkInfo{FailoverTimeout: ptrF(60)})
	revive := func(fwID string) []byte {
		return jsonBody(t, &scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: &mesos.FrameworkID{Value: fwID}, Revive: &scheduler.Call_Revive{}})
	}
	subscribe := jsonBody(t, &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{
		FrameworkInfo: &mesos.FrameworkInfo{User: "u", Name: "n"}}})
	master := c.MasterURL()
	agent := "http://" + c.Agents()[0].Endpoint()
	const ctJSON, ctProto = "application/json", "application/x-protobuf"
	const notAcceptable = "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
	const unsupported = "Expecting 'Content-Type' of application/json or application/x-protobuf"
	executorCall := func(body string) []byte { return []byte(body) }
	cases := []struct {
		name, method, url, ct, accept, stream string
		body                                  []byte
		want                                  int
		wantBody                              string
	}{
		// master, scheduler API
		{name: "scheduler GET", method: "GET", url: master + "/api/v1/scheduler", want: 405, wantBody: "Expecting one of { 'POST' }, but received 'GET'"},
		{name: "scheduler no content type", url: master + "/api/v1/scheduler", body: revive(s.fwID), want: 400, wantBody: "Expecting 'Content-Type' to be present"},
		{name: "scheduler text/plain", url: master + "/api/v1/scheduler", ct: "text/plain", body: revive(s.fwID), want: 415, wantBody: unsupported},
		{name: "scheduler bad protobuf", url: master + "/api/v1/scheduler", ct: ctProto, body: []byte{0xff, 0xff, 0xff}, want: 400, wantBody: "Failed to parse body into Call protobuf"},
		{name: "scheduler bad JSON", url: master + "/api/v1/scheduler", ct: ctJSON, body: []byte("{not json"), want: 400, wantBody: "Failed to parse body into JSON: …"},
		{name: "scheduler JSON not a Call", url: master + "/api/v1/scheduler", ct: ctJSON, body: []byte(`{"type":"NO_SUCH_CALL"}`), want: 400, wantBody: "Failed to convert JSON into Call protobuf: …"},
		{name: "scheduler no type", url: master + "/api/v1/scheduler", ct: ctJSON, body: []byte(`{}`), want: 400, wantBody: "Failed to validate scheduler::Call: Expecting 'type' to be present"},
		{name: "scheduler no framework_id", url: master + "/api/v1/scheduler", ct: ctJSON, stream: s.streamID, want: 400,
			body:     jsonBody(t, &scheduler.Call{Type: scheduler.Call_REVIVE, Revive: &scheduler.Call_Revive{}}),
			wantBody: "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"},
		{name: "scheduler accept without accept", url: master + "/api/v1/scheduler", ct: ctJSON, stream: s.streamID, want: 400,
			body:     jsonBody(t, &scheduler.Call{Type: scheduler.Call_ACCEPT, FrameworkID: &mesos.FrameworkID{Value: s.fwID}}),
			wantBody: "Failed to validate scheduler::Call: Expecting 'accept' to be present"},
		{name: "subscribe unacceptable", url: master + "/api/v1/scheduler", ct: ctJSON, accept: "text/html", body: subscribe, want: 406, wantBody: notAcceptable},
		{name: "subscribe with stream id", url: master + "/api/v1/scheduler", ct: ctJSON, stream: s.streamID, body: subscribe, want: 400,
			wantBody: "Subscribe calls should not include the 'Mesos-Stream-Id' header"},
		{name: "unknown framework", url: master + "/api/v1/scheduler", ct: ctJSON, stream: s.streamID, body: revive("nope"), want: 400, wantBody: "Framework cannot be found"},
		{name: "no stream id", url: master + "/api/v1/scheduler", ct: ctJSON, body: revive(s.fwID), want: 400,
			wantBody: "All non-subscribe calls should include the 'Mesos-Stream-Id' header"},
		{name: "wrong stream id", url: master + "/api/v1/scheduler", ct: ctJSON, stream: "other", body: revive(s.fwID), want: 400,
			wantBody: "The stream ID 'other' included in this request didn't match the stream ID currently associated with framework ID " + s.fwID},
		// master, operator API
		{name: "operator GET", method: "GET", url: master + "/api/v1", want: 405, wantBody: "Expecting one of { 'POST' }, but received 'GET'"},
		{name: "operator text/plain", url: master + "/api/v1", ct: "text/plain", body: []byte(`{}`), want: 415, wantBody: unsupported},
		{name: "operator no type", url: master + "/api/v1", ct: ctJSON, body: []byte(`{}`), want: 400, wantBody: "Failed to validate master::Call: Expecting 'type' to be present"},
		{name: "operator unknown path", url: master + "/api/v1/nosuch", ct: ctJSON, body: []byte(`{}`), want: 400, wantBody: "Failed to validate master::Call: Expecting 'type' to be present"},
		{name: "operator reserve without body", url: master + "/api/v1", ct: ctJSON, body: []byte(`{"type":"RESERVE_RESOURCES"}`), want: 400,
			wantBody: "Failed to validate master::Call: Expecting 'reserve_resources' to be present"},
		{name: "operator unacceptable", url: master + "/api/v1", ct: ctJSON, accept: "text/html", body: []byte(`{"type":"GET_HEALTH"}`), want: 406, wantBody: notAcceptable},
		{name: "operator teardown unknown", url: master + "/api/v1", ct: ctJSON, body: []byte(`{"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope"}}}`), want: 400,
			wantBody: "No framework found with specified ID"},
		// agent, executor API
		{name: "executor GET", method: "GET", url: agent + "/api/v1/executor", want: 405, wantBody: "Expecting one of { 'POST' }, but received 'GET'"},
		{name: "executor text/plain", url: agent + "/api/v1/executor", ct: "text/plain", body: []byte(`{}`), want: 415, wantBody: unsupported},
		{name: "executor bad protobuf", url: agent + "/api/v1/executor", ct: ctProto, body: []byte{0xff, 0xff, 0xff}, want: 400, wantBody: "Failed to parse body into Call protobuf"},
		{name: "executor subscribe without subscribe", url: agent + "/api/v1/executor", ct: ctJSON, want: 400,
			body:     executorCall(`{"type":"SUBSCRIBE","framework_id":{"value":"f"},"executor_id":{"value":"e"}}`),
			wantBody: "Failed to validate Executor::Call: Expecting 'subscribe' to be present"},
		{name: "executor update without update", url: agent + "/api/v1/executor", ct: ctJSON, want: 400,
			body:     executorCall(`{"type":"UPDATE","framework_id":{"value":"f"},"executor_id":{"value":"e"}}`),
			wantBody: "Failed to validate Executor::Call: Expecting 'update' to be present"},
		{name: "executor unknown framework", url: agent + "/api/v1/executor", ct: ctJSON, want: 400,
			body:     executorCall(`{"type":"MESSAGE","framework_id":{"value":"f"},"executor_id":{"value":"e"},"message":{"data":""}}`),
			wantBody: "Framework cannot be found"},
		// agent, operator API
		{name: "agent operator no type", url: agent + "/api/v1", ct: ctJSON, body: []byte(`{}`), want: 400, wantBody: "Failed to validate agent::Call: Expecting 'type' to be present"},
		{name: "agent operator unacceptable", url: agent + "/api/v1", ct: ctJSON, accept: "text/html", body: []byte(`{"type":"GET_HEALTH"}`), want: 406, wantBody: notAcceptable},
	}
	for _, tc := range cases {
		code, body, hdr := doRaw(t, tc.method, tc.url, tc.ct, tc.accept, tc.stream, tc.body)
		if code != tc.want {
			t.Errorf("%s: status %d (%q), want %d", tc.name, code, body, tc.want)
		}
		if prefix, ok := strings.CutSuffix(tc.wantBody, "…"); ok {
			if !strings.HasPrefix(body, prefix) || len(body) == len(prefix) {
				t.Errorf("%s: body %q, want %q followed by the parser's message", tc.name, body, prefix)
			}
		} else if body != tc.wantBody {
			t.Errorf("%s: body %q, want %q", tc.name, body, tc.wantBody)
		}
		if ct := hdr.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("%s: Content-Type %q, want text/plain; charset=utf-8", tc.name, ct)
		}
	}
}

// doRaw is rawPost with a method (default POST).
func doRaw(t testing.TB, method, url, ct, accept, stream string, body []byte) (int, string, http.Header) {
	t.Helper()
	if method == "" || method == http.MethodPost {
		return rawPost(t, url, ct, accept, stream, body)
	}
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), resp.Header
}

// Master and agent report version 1.12.0 through GET /version and
// GET_VERSION; a command task's executor_id is empty in the master's state
// (GET_STATE and state.json), as on a real master, while its status updates
// carry the command executor's ID (the task ID).
func TestVersionAndCommandExecutorIDAsMesos112(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 1, Simulated: true})
	for _, base := range []string{c.MasterURL(), "http://" + c.Agents()[0].Endpoint()} {
		resp, err := http.Get(base + "/version")
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Version string }
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil || v.Version != "1.12.0" {
			t.Errorf("GET %s/version: %+v %v, want 1.12.0", base, v, err)
		}
		code, body, _ := rawPost(t, base+"/api/v1", "application/json", "application/json", "", []byte(`{"type":"GET_VERSION"}`))
		if code != 200 || !strings.Contains(body, `"version":"1.12.0"`) {
			t.Errorf("GET_VERSION on %s: %d %s", base, code, body)
		}
	}

	f := startFramework(t, c, protobufCodec, mesos.FrameworkInfo{})
	i := 0
	o := f.awaitOffers(&i)[0]
	f.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(simTask("cmd", o, "1h", "0"))}.WithOffers(o.ID)).With(calls.RefuseSeconds(0)))
	e := f.await(&i, "cmd running", mesostest.IsUpdate("cmd", mesos.TASK_RUNNING))
	if got := e.Update.Status.GetExecutorID().GetValue(); got != "cmd" {
		t.Errorf("update executor_id %q, want the task ID (the command executor's)", got)
	}
	code, body, _ := rawPost(t, c.MasterURL()+"/api/v1", "application/json", "application/json", "", []byte(`{"type":"GET_STATE"}`))
	var gs struct {
		GetState struct {
			GetTasks struct {
				Tasks []map[string]any `json:"tasks"`
			} `json:"get_tasks"`
		} `json:"get_state"`
	}
	if err := json.Unmarshal([]byte(body), &gs); code != 200 || err != nil || len(gs.GetState.GetTasks.Tasks) != 1 {
		t.Fatalf("GET_STATE: %d %v %s", code, err, body)
	}
	if eid, ok := gs.GetState.GetTasks.Tasks[0]["executor_id"]; ok {
		t.Errorf("GET_STATE: task executor_id %v, want none", eid)
	}
	resp, err := http.Get(c.MasterURL() + "/state.json")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Frameworks []struct {
			Tasks []map[string]any `json:"tasks"`
		} `json:"frameworks"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || len(st.Frameworks) != 1 || len(st.Frameworks[0].Tasks) != 1 {
		t.Fatalf("state.json: %+v %v", st, err)
	}
	if eid, ok := st.Frameworks[0].Tasks[0]["executor_id"]; !ok || eid != "" {
		t.Errorf("state.json executor_id %v (present %v), want \"\"", eid, ok)
	}
}
