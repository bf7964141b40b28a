package events

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestStream(t *testing.T) {
	l := NewLog(4)
	srv := httptest.NewServer(Handler(l, time.Minute))
	defer srv.Close()
	l.Append(Event{Type: "job.submitted", Job: "a"}, Event{Type: "job.submitted", Job: "b"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open := func(query string) (*bufio.Scanner, func()) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/events"+query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("%s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return bufio.NewScanner(resp.Body), func() { resp.Body.Close() }
	}
	next := func(sc *bufio.Scanner) Event {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("stream ended: %v", sc.Err())
		}
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	// since=0 replays what the log keeps, filtered by job, then follows.
	sc, closeA := open("?since=0&job=a")
	defer closeA()
	if e := next(sc); e.Job != "a" || e.Seq != 1 {
		t.Fatalf("first line %+v", e)
	}
	l.Append(Event{Type: "task.running", Job: "b"}, Event{Type: "task.running", Job: "a", Task: "x"})
	if e := next(sc); e.Job != "a" || e.Type != "task.running" || e.Seq != 4 {
		t.Fatalf("followed line %+v", e)
	}
	// A reader starting before evicted events is told how many it missed.
	l.Append(Event{Type: "job.running", Job: "a"}, Event{Type: "job.running", Job: "b"})
	sc2, closeB := open("?since=0&type=job.*")
	defer closeB()
	if e := next(sc2); e.Type != TypeMissed || e.Missed != 2 {
		t.Fatalf("want events.missed 2 first, got %+v", e)
	}
	if e := next(sc2); e.Type != "job.running" || e.Job != "a" {
		t.Fatalf("after the gap %+v", e)
	}
	for _, q := range []string{"?since=x", "?type=jobs"} {
		resp, err := http.Get(srv.URL + "/v1/events" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
	}
}
