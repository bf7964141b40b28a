package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// ?times=true serves the log's line times (<stream>.times) from the same
// sandbox; a sandbox without them answers 404, a bad value 400.
func TestLogsServesLineTimes(t *testing.T) {
	b, ag, srv := setupLogs(t, logsState)
	b.st.PutAttempts(context.Background(), []job.Attempt{
		{Job: "etl-1", Task: "a", Index: 0, Attempt: 0, State: job.AttemptFailed, AgentID: "A1", Hostname: "h"},
		{Job: "etl-1", Task: "a", Index: 0, Attempt: 1, State: job.AttemptSucceeded, AgentID: "A1", Hostname: "h"},
	})
	ag.files["/w/gx/tasks/etl-1.a.0.1/stdout"] = "one\ntwo\n"
	ag.files["/w/gx/tasks/etl-1.a.0.1/stdout.times"] = "2026-12-05T16:00:00Z\n2026-12-05T16:00:01Z\n"
	ag.files["/w/cmd/stdout"] = "no times here\n"
	get := func(q string) (int, string) {
		resp, err := http.Get(srv.URL + "/v1/jobs/etl-1/tasks/a/instances/0/logs" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("?times=true"); code != 200 || body != ag.files["/w/gx/tasks/etl-1.a.0.1/stdout.times"] {
		t.Fatalf("times: %d %q", code, body)
	}
	if code, body := get("?times=false"); code != 200 || body != "one\ntwo\n" {
		t.Fatalf("times=false: %d %q", code, body)
	}
	if code, _ := get("?times=true&attempt=0"); code != 404 {
		t.Fatalf("command executor's sandbox has no times: %d, want 404", code)
	}
	code, body := get("?times=sometimes")
	var e Error
	_ = json.Unmarshal([]byte(body), &e)
	if code != 400 || e.Field != "times" {
		t.Fatalf("times=sometimes: %d %q, want 400 naming times", code, body)
	}
}
