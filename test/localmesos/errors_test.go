package localmesos

import (
	"net/http"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func TestSchedulerStatusCodes(t *testing.T) {
	c := startCluster(t, Config{Agents: 1})
	url := c.MasterURL() + "/api/v1/scheduler"
	revive := func(fwID string) []byte {
		return jsonBody(t, &scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: &mesos.FrameworkID{Value: fwID}, Revive: &scheduler.Call_Revive{}})
	}
	subscribe := jsonBody(t, &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{
		FrameworkInfo: &mesos.FrameworkInfo{User: "u", Name: "n"}}})

	// GET → 405.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	s := rawSubscribe(t, c, mesos.FrameworkInfo{FailoverTimeout: ptrF(60)})
	if s.streamID == "" || s.fwID == "" {
		t.Fatalf("subscribe gave stream %q framework %q", s.streamID, s.fwID)
	}
	if !strings.HasPrefix(s.fwID, c.Master().ID()+"-") || len(s.fwID) != len(c.Master().ID())+5 {
		t.Errorf("framework ID %q is not <masterID>-NNNN", s.fwID)
	}
	cases := []struct {
		name               string
		ct, accept, stream string
		body               []byte
		path               string
		want               int
		wantBody           string
	}{
		{name: "content type text/plain", ct: "text/plain", body: revive(s.fwID), stream: s.streamID, want: 415},
		{name: "content type missing", body: revive(s.fwID), stream: s.streamID, want: 400},
		{name: "content type with charset", ct: "application/json; charset=utf-8", body: revive(s.fwID), want: 415},
		{name: "malformed body", ct: "application/json", body: []byte("{not json"), want: 400},
		{name: "malformed protobuf", ct: "application/x-protobuf", body: []byte{0xff, 0xff, 0xff}, want: 400},
		{name: "no type", ct: "application/json", body: []byte(`{}`), want: 400},
		{name: "subscribe with bad accept", ct: "application/json", accept: "text/html", body: subscribe, want: 406},
		{name: "subscribe with stream id", ct: "application/json", stream: s.streamID, body: subscribe, want: 400},
		{name: "missing framework_id", ct: "application/json", stream: s.streamID,
			body: jsonBody(t, &scheduler.Call{Type: scheduler.Call_REVIVE, Revive: &scheduler.Call_Revive{}}), want: 400, wantBody: "framework_id"},
		{name: "missing sub-message", ct: "application/json", stream: s.streamID,
			body: jsonBody(t, &scheduler.Call{Type: scheduler.Call_ACCEPT, FrameworkID: &mesos.FrameworkID{Value: s.fwID}}), want: 400, wantBody: "accept"},
		{name: "bad ack uuid", ct: "application/json", stream: s.streamID,
			body: jsonBody(t, &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, FrameworkID: &mesos.FrameworkID{Value: s.fwID},
				Acknowledge: &scheduler.Call_Acknowledge{UUID: []byte("short")}}), want: 400},
		{name: "unknown framework", ct: "application/json", stream: s.streamID, body: revive("nope"), want: 400, wantBody: "Framework cannot be found"},
		{name: "no stream id", ct: "application/json", body: revive(s.fwID), want: 400},
		{name: "wrong stream id", ct: "application/json", stream: "other", body: revive(s.fwID), want: 400, wantBody: "didn't match"},
		{name: "good call", ct: "application/json", stream: s.streamID, body: revive(s.fwID), want: 202},
		{name: "master alias", path: "/master/api/v1/scheduler", ct: "application/json", stream: s.streamID, body: revive(s.fwID), want: 202},
		{name: "operator unknown name", path: "/api/v1/nosuch", ct: "application/json", body: []byte(`{}`), want: 400, wantBody: "type"},
	}
	for _, tc := range cases {
		u := url
		if tc.path != "" {
			u = c.MasterURL() + tc.path
		}
		code, body, hdr := rawPost(t, u, tc.ct, tc.accept, tc.stream, tc.body)
		if code != tc.want {
			t.Errorf("%s: status %d (%s), want %d", tc.name, code, body, tc.want)
		}
		if tc.wantBody != "" && !strings.Contains(body, tc.wantBody) {
			t.Errorf("%s: body %q, want containing %q", tc.name, body, tc.wantBody)
		}
		if code >= 400 && !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: error Content-Type %q, want text/plain", tc.name, hdr.Get("Content-Type"))
		}
	}

	// UPDATE_FRAMEWORK answers 200 with no body and no Content-Type.
	info := mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: s.fwID}, User: "raw", Name: "renamed", FailoverTimeout: ptrF(60)}
	code, body, hdr := s.post(t, c, &scheduler.Call{Type: scheduler.Call_UPDATE_FRAMEWORK, UpdateFramework: &scheduler.Call_UpdateFramework{FrameworkInfo: info}})
	if code != 200 || body != "" || hdr.Get("Content-Type") != "" {
		t.Errorf("UPDATE_FRAMEWORK: %d %q Content-Type %q, want 200, empty, none", code, body, hdr.Get("Content-Type"))
	}
	info.User = "someone-else"
	if code, _, _ := s.post(t, c, &scheduler.Call{Type: scheduler.Call_UPDATE_FRAMEWORK, UpdateFramework: &scheduler.Call_UpdateFramework{FrameworkInfo: info}}); code != 400 {
		t.Errorf("UPDATE_FRAMEWORK changing user: %d, want 400", code)
	}

	// A second SUBSCRIBE with the same ID fails the first stream over.
	s2 := rawSubscribe(t, c, mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: s.fwID}, FailoverTimeout: ptrF(60)})
	if s2.fwID != s.fwID {
		t.Fatalf("re-subscribe got framework %q, want %q", s2.fwID, s.fwID)
	}
	if e := s.next(t, scheduler.Event_ERROR); e.Error.Message != "Framework failed over" {
		t.Errorf("old stream error %q, want Framework failed over", e.Error.Message)
	}
	s.ended(t)
	if code, body, _ := s.post(t, c, &scheduler.Call{Type: scheduler.Call_REVIVE, Revive: &scheduler.Call_Revive{}}); code != 400 {
		t.Errorf("call with superseded stream id: %d %s, want 400", code, body)
	}
	// Disconnected (within failover) → 403.
	s2.close()
	waitFor(t, "framework disconnected", func() bool {
		code, _, _ := s2.post(t, c, &scheduler.Call{Type: scheduler.Call_REVIVE, Revive: &scheduler.Call_Revive{}})
		return code == 403
	})
	// TEARDOWN from a new subscription, then calls → 400 and re-subscribe → ERROR.
	s3 := rawSubscribe(t, c, mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: s.fwID}, FailoverTimeout: ptrF(60)})
	if code, _, _ := s3.post(t, c, &scheduler.Call{Type: scheduler.Call_TEARDOWN}); code != 202 {
		t.Errorf("TEARDOWN: %d, want 202", code)
	}
	s3.ended(t)
	if code, _, _ := s3.post(t, c, &scheduler.Call{Type: scheduler.Call_REVIVE, Revive: &scheduler.Call_Revive{}}); code != 400 {
		t.Errorf("call after TEARDOWN: %d, want 400", code)
	}
	s4 := rawSubscribe(t, c, mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: s.fwID}})
	if e := s4.next(t, scheduler.Event_ERROR); e.Error.Message != "Framework has been removed" {
		t.Errorf("re-subscribe after teardown: %q", e.Error.Message)
	}
	// Roles without MULTI_ROLE → 200 then ERROR.
	s5 := rawSubscribe(t, c, mesos.FrameworkInfo{Roles: []string{"a"}})
	if e := s5.next(t, scheduler.Event_ERROR); !strings.Contains(e.Error.Message, "MULTI_ROLE") {
		t.Errorf("roles without MULTI_ROLE: %q", e.Error.Message)
	}
}

func ptrF(f float64) *float64 { return &f }
