package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLogsPath(t *testing.T) {
	for _, tc := range []struct {
		inst           string
		stderr, follow bool
		attempt        int
		want, err      string
	}{
		{"extract", false, false, -1, "/v1/jobs/j-1/tasks/extract/instances/0/logs?stream=stdout", ""},
		{"extract/7", true, true, 2, "/v1/jobs/j-1/tasks/extract/instances/7/logs?attempt=2&follow=1&stream=stderr", ""},
		{"extract/x", false, false, -1, "", "want TASK or TASK/INDEX"},
		{"extract/-1", false, false, -1, "", "want TASK or TASK/INDEX"},
		{"/3", false, false, -1, "", "want TASK or TASK/INDEX"},
	} {
		got, err := logsPath("j-1", tc.inst, tc.stderr, tc.follow, tc.attempt)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %q, %v; want %q, %q", tc.inst, got, err, tc.want, tc.err)
		}
	}
}

func TestLogsStreamErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("stream") == "stderr" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"j-1/a/0 has no attempt 4","field":"attempt"}`))
			return
		}
		w.Write([]byte("hello\n"))
	}))
	defer srv.Close()
	jc := &jobClient{base: srv.URL, http: srv.Client()}
	var out bytes.Buffer
	if err := jc.stream(context.Background(), "/x?stream=stdout", &out); err != nil || out.String() != "hello\n" {
		t.Fatalf("stream: %q, %v", out.String(), err)
	}
	err := jc.stream(context.Background(), "/x?stream=stderr", &out)
	if err == nil || err.Error() != "j-1/a/0 has no attempt 4 (field attempt)" {
		t.Fatalf("error: %v", err)
	}
}
