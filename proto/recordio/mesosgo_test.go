package recordio

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	mclient "github.com/mesos/mesos-go/api/v1/lib/client"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// eventServer answers /stream with a chunked RecordIO stream of events (as
// a Mesos master answers SUBSCRIBE) and /single with one message.
func eventServer(t *testing.T, events ...*scheduler.Event) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-protobuf")
		if r.URL.Path == "/single" {
			b, _ := events[0].Marshal()
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
			return
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for _, e := range events {
			b, _ := e.Marshal()
			w.Write([]byte(strconv.Itoa(len(b)) + "\n"))
			w.Write(b)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func bigMessage(n int) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_MESSAGE, Message: &scheduler.Event_Message{
		AgentID: mesos.AgentID{Value: "a"}, ExecutorID: mesos.ExecutorID{Value: "e"}, Data: bytes.Repeat([]byte{'d'}, n)}}
}

func subscribe(t *testing.T, cli *httpcli.Client, rc mclient.ResponseClass) mesos.Response {
	t.Helper()
	resp, err := cli.Send(mclient.RequestSingleton(&scheduler.Call{Type: scheduler.Call_SUBSCRIBE}), rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Close() })
	return resp
}

var protobuf = codecs.ByMediaType[codecs.MediaTypeProtobuf]

// An event over mesos-go's own 4 MiB frame limit: its client fails with
// "token too long"; with ClientOptions it decodes.
func TestClientOptionsReadEventsOverMesosGoLimit(t *testing.T) {
	heartbeat := &scheduler.Event{Type: scheduler.Event_HEARTBEAT}
	srv := eventServer(t, heartbeat, bigMessage(5<<20), heartbeat)

	plain := httpcli.New(httpcli.Endpoint(srv.URL + "/stream"))
	resp := subscribe(t, plain, mclient.ResponseClassAuto)
	var e scheduler.Event
	if err := resp.Decode(&e); err != nil || e.Type != scheduler.Event_HEARTBEAT {
		t.Fatalf("first event %v, err %v", e.Type, err)
	}
	if err := resp.Decode(&e); !errors.Is(err, bufio.ErrTooLong) {
		t.Fatalf("mesos-go's own reader: err %v, want %v (if mesos-go reads such events now, this package may go)", err, bufio.ErrTooLong)
	}

	bounded := httpcli.New(append([]httpcli.Opt{httpcli.Endpoint(srv.URL + "/stream")}, ClientOptions(protobuf, 8<<20, "--max-event-bytes")...)...)
	resp = subscribe(t, bounded, mclient.ResponseClassAuto)
	var types []string
	for {
		var e scheduler.Event
		if err := resp.Decode(&e); err != nil {
			break
		}
		types = append(types, e.Type.String())
		if e.Type == scheduler.Event_MESSAGE && len(e.Message.Data) != 5<<20 {
			t.Fatalf("message data of %d bytes", len(e.Message.Data))
		}
	}
	if got := len(types); got != 3 || types[1] != "MESSAGE" {
		t.Fatalf("events %v", types)
	}
}

func TestClientOptionsOverLimitNamesIt(t *testing.T) {
	srv := eventServer(t, bigMessage(2<<20))
	cli := httpcli.New(append([]httpcli.Opt{httpcli.Endpoint(srv.URL + "/stream")}, ClientOptions(protobuf, 1<<20, "--max-event-bytes")...)...)
	resp := subscribe(t, cli, mclient.ResponseClassAuto)
	var e scheduler.Event
	err := resp.Decode(&e)
	var tl *FrameTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 1<<20 || tl.Size <= 2<<20 || tl.Raise != "--max-event-bytes" {
		t.Fatalf("err %v", err)
	}
}

// A single-message answer (Content-Length known) is read whole, as before.
func TestClientOptionsKeepSingleMessages(t *testing.T) {
	srv := eventServer(t, bigMessage(10))
	cli := httpcli.New(append([]httpcli.Opt{httpcli.Endpoint(srv.URL + "/single")}, ClientOptions(protobuf, 1<<20, "")...)...)
	resp := subscribe(t, cli, mclient.ResponseClassAuto)
	var e scheduler.Event
	if err := resp.Decode(&e); err != nil || e.Type != scheduler.Event_MESSAGE || len(e.Message.Data) != 10 {
		t.Fatalf("event %v, err %v", e.Type, err)
	}
}
