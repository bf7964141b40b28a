package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/client"
)

func TestParseLogTarget(t *testing.T) {
	for _, tc := range []struct {
		inst string
		want logTarget
		err  string
	}{
		{"extract", logTarget{"extract", -1}, ""},
		{"extract/7", logTarget{"extract", 7}, ""},
		{"extract/x", logTarget{}, "want TASK or TASK/INDEX"},
		{"extract/-1", logTarget{}, "want TASK or TASK/INDEX"},
		{"/3", logTarget{}, "want TASK or TASK/INDEX"},
	} {
		got, err := parseLogTarget(tc.inst)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) || (err == nil && got != tc.want) {
			t.Errorf("%s: %+v, %v; want %+v, %q", tc.inst, got, err, tc.want, tc.err)
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
	jc, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := jc.Logs(context.Background(), "j-1", "a", 0, client.LogsOptions{}, &out); err != nil || out.String() != "hello\n" {
		t.Fatalf("stream: %q, %v", out.String(), err)
	}
	err = jc.Logs(context.Background(), "j-1", "a", 0, client.LogsOptions{Stderr: true}, &out)
	if err == nil || err.Error() != "j-1/a/0 has no attempt 4 (field attempt)" {
		t.Fatalf("error: %v", err)
	}
}

func TestPrefixWriter(t *testing.T) {
	var out bytes.Buffer
	p := &prefixWriter{w: &out, prefix: "a/3| "}
	p.Write([]byte("one\ntw"))
	p.Write([]byte("o\nthree"))
	if out.String() != "a/3| one\na/3| two\n" {
		t.Fatalf("before flush: %q", out.String())
	}
	p.Flush()
	if out.String() != "a/3| one\na/3| two\na/3| three\n" {
		t.Fatalf("after flush: %q", out.String())
	}
}

func TestTailWriter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		keep int
		want string
	}{
		{"1\n2\n3\n", 2, "2\n3\n"},
		{"1\n2\n3", 2, "2\n3"},
		{"1\n2\n", 5, "1\n2\n"},
		{"1\n2\n", 0, ""},
		{"", 3, ""},
	} {
		tw := &tailWriter{keep: tc.keep}
		for _, b := range []byte(tc.in) { // byte by byte: lines split across writes
			tw.Write([]byte{b})
		}
		if got := string(tw.Bytes()); got != tc.want || tw.total != int64(len(tc.in)) {
			t.Errorf("tail %d of %q = %q (%d bytes); want %q", tc.keep, tc.in, got, tw.total, tc.want)
		}
	}
}
