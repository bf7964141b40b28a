package master

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/recordio"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/gleaner-project/gleaner/test/localmesos/master/fakeagent"
	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// FuzzRecordIODecode checks the master's RecordIO framing against
// mesos-go's reader: records split from the input survive a round trip, and
// the raw input fed to the reader never panics or hangs.
func FuzzRecordIODecode(f *testing.F) {
	f.Add([]byte(`{"type":"HEARTBEAT"}`), uint8(3))
	f.Add([]byte("20\n{\"type\":\"HEARTBEAT\"}"), uint8(1))
	f.Add([]byte("5\nhello3\nabc"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		// Raw bytes: decode until error; must terminate.
		r := recordio.NewReader(bytes.NewReader(data))
		for i := 0; i <= len(data)+1; i++ {
			if _, err := r.ReadFrame(); err != nil {
				break
			}
		}
		// Round trip: split data into non-empty records.
		var records [][]byte
		step := int(cut%16) + 1
		for i := 0; i < len(data); i += step {
			end := min(i+step, len(data))
			records = append(records, data[i:end])
		}
		var framed []byte
		for _, rec := range records {
			framed = appendFrame(framed, rec)
		}
		r = recordio.NewReader(bytes.NewReader(framed))
		for i, want := range records {
			got, err := r.ReadFrame()
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("record %d: got %q want %q", i, got, want)
			}
		}
		if _, err := r.ReadFrame(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the last record: %v, want EOF", err)
		}
	})
}

// fuzzTarget is a master with one agent and one subscribed framework.
type fuzzTarget struct {
	m        *Master
	srv      *httptest.Server
	fwID     string
	streamID string
	agentID  string
}

func newFuzzTarget(t testing.TB) *fuzzTarget {
	m := New(Config{AllocationInterval: 10 * time.Millisecond})
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(func() { srv.Close(); m.Close() })
	port := int32(5051)
	finish := func(mesos.TaskInfo) (mesos.TaskState, bool) { return mesos.TASK_FINISHED, true }
	fa := fakeagent.New(m, mesos.AgentInfo{Hostname: "fuzz-agent", Port: &port, Resources: mesos.Resources{
		{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 4}},
		{Name: "mem", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 4096}}}}, finish)
	aid, err := fa.Register()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(&scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{
		FrameworkInfo: &mesos.FrameworkInfo{User: "fuzz", Name: "fuzz", FailoverTimeout: ptrF(3600)}}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", wire.MediaJSON)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rd := recordio.NewReader(resp.Body)
	frame, err := rd.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	var e scheduler.Event
	if err := json.Unmarshal(frame, &e); err != nil || e.Subscribed == nil {
		t.Fatalf("subscribe: %v %s", err, frame)
	}
	go func() { // keep draining the stream
		defer resp.Body.Close()
		for {
			if _, err := rd.ReadFrame(); err != nil {
				return
			}
		}
	}()
	return &fuzzTarget{m: m, srv: srv, fwID: e.Subscribed.FrameworkID.Value, streamID: resp.Header.Get("Mesos-Stream-Id"), agentID: aid.Value}
}

func ptrF(f float64) *float64 { return &f }

// offer returns an outstanding offer of the target framework, if any.
func (ft *fuzzTarget) offer() string {
	ft.m.mu.Lock()
	defer ft.m.mu.Unlock()
	if fw := ft.m.frameworks[ft.fwID]; fw != nil {
		for id := range fw.offers {
			return id
		}
	}
	return ""
}

// post sends body and checks the answer is a 2xx the call allows or a 4xx.
func (ft *fuzzTarget) post(t *testing.T, ct string, body []byte, typ scheduler.Call_Type) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ft.srv.URL+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if typ != scheduler.Call_SUBSCRIBE {
		req.Header.Set("Mesos-Stream-Id", ft.streamID)
	}
	resp, err := ft.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("no answer (hang or crash): %v", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusAccepted:
	case resp.StatusCode == http.StatusOK && (typ == scheduler.Call_SUBSCRIBE || typ == scheduler.Call_UPDATE_FRAMEWORK):
		// A SUBSCRIBE stream stays open: stop reading it.
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("status %d for a %s call: %s", resp.StatusCode, typ, b)
	}
}

// FuzzSchedulerCall sends arbitrary bodies to the scheduler endpoint in both
// codecs. Bodies that decode are also re-sent with the subscribed
// framework's ID so they reach the call handlers.
func FuzzSchedulerCall(f *testing.F) {
	for _, seed := range seedCalls() {
		js, _ := json.Marshal(seed)
		pb, _ := seed.Marshal()
		f.Add(js, true)
		f.Add(pb, false)
	}
	ft := newFuzzTarget(f)
	f.Fuzz(func(t *testing.T, body []byte, useJSON bool) {
		ct := wire.MediaProtobuf
		if useJSON {
			ct = wire.MediaJSON
		}
		var call scheduler.Call
		if err := wire.Codec(ct).Unmarshal(body, &call); err != nil {
			ft.post(t, ct, body, scheduler.Call_UNKNOWN)
			return
		}
		ft.post(t, ct, body, call.Type)
		if call.Type == scheduler.Call_SUBSCRIBE || call.Type == scheduler.Call_TEARDOWN {
			return // keep the target framework subscribed
		}
		call.FrameworkID = &mesos.FrameworkID{Value: ft.fwID}
		if call.Accept != nil {
			// Aim the operations at a live offer, so task and operation
			// validation run on arbitrary input.
			if id := ft.offer(); id != "" {
				call.Accept.OfferIDs = []mesos.OfferID{{Value: id}}
			}
		}
		if call.Type == scheduler.Call_UPDATE_FRAMEWORK && call.UpdateFramework != nil {
			call.UpdateFramework.FrameworkInfo.ID = call.FrameworkID
		}
		b, err := wire.Codec(ct).Marshal(&call)
		if err != nil {
			return
		}
		ft.post(t, ct, b, call.Type)
	})
}

func seedCalls() []*scheduler.Call {
	fid := &mesos.FrameworkID{Value: "x"}
	cmd := "exit 0"
	task := mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t"}, AgentID: mesos.AgentID{Value: "a"},
		Command: &mesos.CommandInfo{Value: &cmd}, Resources: []mesos.Resource{
			{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 1}}}}
	role := "*"
	reserved := mesos.Resource{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 1},
		Reservations: []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: &role}}}
	groupTask := task
	groupTask.Command = nil
	return []*scheduler.Call{
		{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: &mesos.FrameworkInfo{User: "u", Name: "n"}}},
		{Type: scheduler.Call_ACCEPT, FrameworkID: fid, Accept: &scheduler.Call_Accept{OfferIDs: []mesos.OfferID{{Value: "o"}},
			Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: []mesos.TaskInfo{task}}}}}},
		{Type: scheduler.Call_ACCEPT, FrameworkID: fid, Accept: &scheduler.Call_Accept{OfferIDs: []mesos.OfferID{{Value: "o"}},
			Operations: []mesos.Offer_Operation{
				{Type: mesos.Offer_Operation_RESERVE, Reserve: &mesos.Offer_Operation_Reserve{Resources: []mesos.Resource{reserved}}},
				{Type: mesos.Offer_Operation_UNRESERVE, Unreserve: &mesos.Offer_Operation_Unreserve{Resources: []mesos.Resource{reserved}}},
				{Type: mesos.Offer_Operation_LAUNCH_GROUP, LaunchGroup: &mesos.Offer_Operation_LaunchGroup{
					Executor:  mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e"}, Type: mesos.ExecutorInfo_DEFAULT},
					TaskGroup: mesos.TaskGroupInfo{Tasks: []mesos.TaskInfo{groupTask}}}}}}},
		{Type: scheduler.Call_DECLINE, FrameworkID: fid, Decline: &scheduler.Call_Decline{OfferIDs: []mesos.OfferID{{Value: "o"}}}},
		{Type: scheduler.Call_REVIVE, FrameworkID: fid, Revive: &scheduler.Call_Revive{Roles: []string{"*"}}},
		{Type: scheduler.Call_SUPPRESS, FrameworkID: fid, Suppress: &scheduler.Call_Suppress{}},
		{Type: scheduler.Call_KILL, FrameworkID: fid, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "t"}}},
		{Type: scheduler.Call_ACKNOWLEDGE, FrameworkID: fid, Acknowledge: &scheduler.Call_Acknowledge{
			AgentID: mesos.AgentID{Value: "a"}, TaskID: mesos.TaskID{Value: "t"}, UUID: wire.NewUUID()}},
		{Type: scheduler.Call_RECONCILE, FrameworkID: fid, Reconcile: &scheduler.Call_Reconcile{Tasks: []scheduler.Call_Reconcile_Task{{TaskID: mesos.TaskID{Value: "t"}}}}},
		{Type: scheduler.Call_MESSAGE, FrameworkID: fid, Message: &scheduler.Call_Message{AgentID: mesos.AgentID{Value: "a"}, ExecutorID: mesos.ExecutorID{Value: "e"}, Data: []byte("hi")}},
		{Type: scheduler.Call_SHUTDOWN, FrameworkID: fid, Shutdown: &scheduler.Call_Shutdown{AgentID: mesos.AgentID{Value: "a"}, ExecutorID: mesos.ExecutorID{Value: "e"}}},
		{Type: scheduler.Call_UPDATE_FRAMEWORK, FrameworkID: fid, UpdateFramework: &scheduler.Call_UpdateFramework{FrameworkInfo: mesos.FrameworkInfo{User: "fuzz", Name: "n2", FailoverTimeout: ptrF(3600)}}},
	}
}
