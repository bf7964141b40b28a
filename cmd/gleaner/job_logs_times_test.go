package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/client"
)

// timesServer serves instance 0's log with line times and instance 1's
// without (404 for its times, as for a command executor's sandbox).
func timesServer(t *testing.T) *client.Client {
	t.Helper()
	logs := map[string]string{"0": "one\ntwo\nthree\n", "1": "untimed\n"}
	times := map[string]string{"0": "2026-12-05T16:00:00Z\n2026-12-05T16:00:05Z\n2026-12-05T16:00:10.5Z\n"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/") // /v1/jobs/J/tasks/T/instances/I/logs
		idx := parts[len(parts)-2]
		src := logs
		if r.URL.Query().Get("times") == "true" {
			src = times
		}
		body, ok := src[idx]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"no such file","field":"attempt"}`))
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestJobLogsTimestampsAndSince(t *testing.T) {
	c := timesServer(t)
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	tests := []struct {
		name              string
		r                 logReader
		indexes           []int
		want, wantErr     string
		wantWarn, errPart string
	}{
		{name: "timestamps", r: logReader{timestamps: true, tail: -1}, indexes: []int{0},
			want: "2026-12-05T16:00:00Z one\n2026-12-05T16:00:05Z two\n2026-12-05T16:00:10.5Z three\n"},
		{name: "since drops older lines", r: logReader{since: at("2026-12-05T16:00:05Z"), tail: -1}, indexes: []int{0},
			want: "two\nthree\n"},
		{name: "tail keeps each line's own time", r: logReader{timestamps: true, tail: 1}, indexes: []int{0},
			want: "2026-12-05T16:00:10.5Z three\n"},
		{name: "prefix comes first, then the time", r: logReader{timestamps: true, tail: -1, prefix: true}, indexes: []int{0},
			want: "a/0| 2026-12-05T16:00:00Z one\na/0| 2026-12-05T16:00:05Z two\na/0| 2026-12-05T16:00:10.5Z three\n"},
		{name: "a log without times: lines without them, and a warning", r: logReader{timestamps: true, tail: -1}, indexes: []int{1},
			want: "- untimed\n", wantWarn: "no line times recorded"},
		{name: "since on a log without times is refused", r: logReader{since: at("2026-12-05T16:00:05Z"), tail: -1}, indexes: []int{1},
			wantErr: "--since needs line times"},
		{name: "since across instances: the one without times is skipped, said so", r: logReader{since: at("2026-12-05T16:00:05Z"), tail: -1, skipMissing: true, prefix: true},
			indexes: []int{0, 1}, want: "a/0| two\na/0| three\n", wantWarn: "a/1: --since needs line times"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			r := tc.r
			r.c, r.job, r.task, r.out, r.errw = c, "j-1", "a", &lockedWriter{w: &out}, &errw
			var err error
			for _, i := range tc.indexes {
				if err = r.read(context.Background(), i); err != nil {
					break
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, errNoLineTimes) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("out %q, want %q", out.String(), tc.want)
			}
			if !strings.Contains(errw.String(), tc.wantWarn) || (tc.wantWarn == "" && errw.Len() > 0) {
				t.Errorf("stderr %q, want %q", errw.String(), tc.wantWarn)
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"10m", now.Add(-10 * time.Minute), ""},
		{"1h30m", now.Add(-90 * time.Minute), ""},
		{"2026-12-05T16:00:00Z", time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC), ""},
		{"2026-12-05T16:00:00.25+01:00", time.Date(2026, 12, 5, 15, 0, 0, 250e6, time.UTC), ""},
		{"-5m", time.Time{}, "want a positive duration"},
		{"yesterday", time.Time{}, `--since "yesterday": want a duration`},
	} {
		got, err := parseSince(tc.in, now)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) || !got.Equal(tc.want) {
			t.Errorf("%s: %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzStampWriter: any log and any line-times stream (the agent's files,
// outside input) pair without panic, every line of the log comes out once,
// and --since parses or is refused.
func FuzzStampWriter(f *testing.F) {
	f.Add([]byte("one\ntwo\n"), []byte("2026-12-05T16:00:00Z\n2026-12-05T16:00:05Z\n"), "10m")
	f.Add([]byte("no newline"), []byte("garbage\n\n"), "2026-12-05T16:00:00Z")
	f.Add([]byte("\n\n\n"), []byte(strings.Repeat("x", 300)), "")
	f.Fuzz(func(t *testing.T, logData, timesData []byte, since string) {
		if len(logData) > 1<<16 || len(timesData) > 1<<16 {
			return
		}
		_, _ = parseSince(since, time.Now())
		sc := bufio.NewScanner(bytes.NewReader(timesData))
		sc.Buffer(make([]byte, 256), 256)
		var out bytes.Buffer
		s := &stampWriter{w: &out, times: &lineTimes{sc: sc}, show: true}
		if _, err := s.Write(logData); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		want := countLines(logData)
		for _, l := range bytes.Split(logData, []byte{'\n'}) {
			want += int64(len(l) / maxLineBuffer) // overlong lines are cut
		}
		if got := countLines(out.Bytes()); got < countLines(logData) || got > want {
			t.Fatalf("%d lines in, %d out", countLines(logData), got)
		}
	})
}
