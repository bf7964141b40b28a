package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestTaskBar(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ts     job.TaskStatus
		want   []string
		filled int // bar cells drawn as done, of 40
	}{
		{"none yet", job.TaskStatus{Name: "extract", State: job.Pending, Instances: 10}, []string{"extract", "(0/10)", " 0 run, 0 fail  pending"}, 0},
		{"half", job.TaskStatus{Name: "extract", State: job.Running, Instances: 10, Counts: job.Counts{Succeeded: 5, Running: 3, Failed: 1}}, []string{"(5/10)", " 3 run, 1 fail  running", "50%"}, 20},
		{"done", job.TaskStatus{Name: "load", State: job.Succeeded, Instances: 4, Counts: job.Counts{Succeeded: 4}}, []string{"load   ", "(4/4)", "100%", "succeeded"}, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := taskBar(tc.ts, 7, 200)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			if strings.ContainsAny(got, "\r\n") {
				t.Errorf("%q: not one line", got)
			}
			if n := strings.Count(got, "█"); n != tc.filled {
				t.Errorf("%q: %d cells done, want %d", got, n, tc.filled)
			}
		})
	}
}

func TestProgressLines(t *testing.T) {
	st := job.Status{ID: "etl-1", State: job.Running, Tasks: []job.TaskStatus{
		{Name: "a", State: job.Succeeded, Instances: 2, Counts: job.Counts{Succeeded: 2}},
		{Name: "bbbb", State: job.Running, Instances: 3, Counts: job.Counts{Succeeded: 1, Running: 2}},
	}}
	lines := progressLines(st, 120)
	if len(lines) != 3 || lines[0] != "job etl-1  running" {
		t.Fatalf("lines: %q", lines)
	}
	// names padded to one width so the bars line up
	if i, j := strings.Index(lines[1], "|"), strings.Index(lines[2], "|"); i != j || i < 0 {
		t.Fatalf("bars do not line up: %q", lines[1:])
	}
}

func TestRedraw(t *testing.T) {
	if got := redraw(0, []string{"x", "y"}); got != "\r\033[2Kx\n\r\033[2Ky\n" {
		t.Fatalf("first draw %q", got)
	}
	if got := redraw(2, []string{"x", "z"}); got != "\033[2A\r\033[2Kx\n\r\033[2Kz\n" {
		t.Fatalf("redraw %q", got)
	}
	// fewer lines than before: the rest is cleared and the cursor comes back
	if got := redraw(3, []string{"x"}); got != "\033[3A\r\033[2Kx\n\r\033[2K\n\r\033[2K\n\033[2A" {
		t.Fatalf("shrink %q", got)
	}
}

// Not a terminal (a buffer, as in CI or a pipe): one line per change, no
// escape sequences, and the exit code says whether the job succeeded.
func TestWatchNotATerminal(t *testing.T) {
	for _, tc := range []struct {
		final job.State
		fail  bool
	}{{job.Succeeded, false}, {job.Failed, true}} {
		t.Run(string(tc.final), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/jobs/j-1/watch" {
					http.NotFound(w, r)
					return
				}
				enc := json.NewEncoder(w)
				for i, s := range []job.State{job.Running, job.Running, tc.final} {
					enc.Encode(job.Status{ID: "j-1", State: s, Tasks: []job.TaskStatus{{Name: "t", Instances: 2, State: s, Counts: job.Counts{Succeeded: i, Running: 2 - i}}}})
				}
			}))
			defer srv.Close()
			var out bytes.Buffer
			app := &cli.App{Writer: &out, ErrWriter: &out}
			fs := flag.NewFlagSet("watch", flag.ContinueOnError)
			for _, f := range jobFlags() {
				if err := f.Apply(fs); err != nil {
					t.Fatal(err)
				}
			}
			if err := fs.Parse([]string{"--api", srv.URL}); err != nil {
				t.Fatal(err)
			}
			c := cli.NewContext(app, fs, nil)
			c.Context = context.Background()
			jc, err := newJobClient(c)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = jobWatch(ctx, c, jc, "j-1")
			if (err != nil) != tc.fail {
				t.Fatalf("watch err %v, want failure %v", err, tc.fail)
			}
			if tc.fail {
				if ec, ok := err.(cli.ExitCoder); !ok || ec.ExitCode() != 1 {
					t.Fatalf("exit: %v", err)
				}
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 3 || strings.Contains(out.String(), "\033") {
				t.Fatalf("output %q", out.String())
			}
			for i, l := range lines {
				if !strings.Contains(l, fmt.Sprintf("t %d/2 ok, %d run, 0 fail", i, 2-i)) {
					t.Errorf("line %d: %q", i, l)
				}
			}
		})
	}
}

// Issue 13: an instance waiting to run again shows as retrying, a skipped
// task as skipped (it counted as pending before), in the bar, the line and
// job get's table.
func TestProgressShowsRetryingAndSkipped(t *testing.T) {
	retrying := job.TaskStatus{Name: "a", State: job.Running, Instances: 3, Counts: job.Counts{Succeeded: 1, Pending: 1, Retrying: 1}}
	skipped := job.TaskStatus{Name: "b", State: job.Skipped, Instances: 4, Counts: job.Counts{Skipped: 4}, Reason: "when is false"}
	if bar := taskBar(retrying, 1, 200); !strings.Contains(bar, " 0 run, 0 fail, 1 retrying  running") {
		t.Errorf("bar %q", bar)
	}
	if bar := taskBar(skipped, 1, 200); !strings.Contains(bar, "skipped") {
		t.Errorf("bar %q", bar)
	}
	st := job.Status{ID: "x-1", State: job.Running, Tasks: []job.TaskStatus{retrying, skipped}}
	line := progressLine(time.Unix(0, 0), st)
	for _, w := range []string{"a 1/3 ok, 0 run, 0 fail, 1 retrying", "b skipped"} {
		if !strings.Contains(line, w) {
			t.Errorf("line %q lacks %q", line, w)
		}
	}
	var b bytes.Buffer
	printStatusTable(&b, st, nil)
	table := b.String()
	for _, w := range []string{"RETRYING", "SKIPPED"} {
		if !strings.Contains(table, w) {
			t.Errorf("table lacks column %s:\n%s", w, table)
		}
	}
	rows := strings.Split(strings.TrimSpace(table), "\n")
	if f := strings.Fields(rows[len(rows)-2]); len(f) < 9 || f[3] != "1" || f[6] != "0" || f[7] != "0" || f[8] != "1" {
		t.Errorf("row of a (pending 1, retrying 1): %q", f)
	}
	if f := strings.Fields(rows[len(rows)-1]); len(f) < 10 || f[3] != "0" || f[9] != "4" {
		t.Errorf("row of b (pending 0, skipped 4): %q", f)
	}
}
