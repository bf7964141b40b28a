package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMesosLocalBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--agents", "0"}, "--agents must be at least 1"},
		{[]string{"--port", "70000"}, "--port must be within"},
		{[]string{"--agents", "2", "--hostnames", "a"}, "lists 1 names for 2 agents"},
		{[]string{"--hostnames", "a,,b", "--agents", "3"}, "empty name"},
		{[]string{"--allocation-interval", "0s"}, "--allocation-interval must be positive"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--port", "0", "--resources", "cpus:lots"}, `"lots" is not a number`},
		{[]string{"--port", "0", "--attributes", "rack"}, "attributes"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--control-listen", "0.0.0.0:7070"}, "not a loopback address"},
		{[]string{"--control-listen", ":7070"}, "not a loopback address"},
		{[]string{"--control-listen", "127.0.0.1"}, "--control-listen"},
		{[]string{"--agent", "attributes=rack:r1"}, "name: missing"},
		{[]string{"--max_completed_frameworks", "-1"}, "--max_completed_frameworks must not be negative"},
		{[]string{"--agent", "name=h1;resources=cpus:x"}, `resources: resource "cpus:x"`},
		{[]string{"--agent", "name=h1;colour=red"}, `unknown part "colour"`},
		{[]string{"--agent", "name=h1", "--agent", "name=h1"}, `agents 1 and 2 are both named "h1"`},
		{[]string{"--agent", "name=h1", "--agent", "name=h2", "--agents", "1"}, "--agents 1 is fewer than the 2 --agent flags"},
		{[]string{"--agent", "name=h1", "--hostnames", "a"}, "not both"},
		{[]string{"agent", "restart", "h1"}, `"control" not set`},
		{[]string{"agent", "restart", "--control", "127.0.0.1:1", "h1"}, "want a URL"},
		{[]string{"agent", "kill", "--control", "http://127.0.0.1:1"}, "want one agent NAME"},
	}
	for _, c := range cases {
		app := newApp()
		var out, errOut bytes.Buffer
		app.Writer, app.ErrWriter = &out, &errOut
		err := app.Run(append([]string{"gleaner", "mesos-local"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mesos-local %v: error %v, want containing %q", c.args, err, c.want)
		}
	}
}

// --control-listen serves the control endpoint and names it on stdout.
func TestMesosLocalControlEndpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app := newApp()
	r, w := io.Pipe()
	app.Writer, app.ErrWriter = w, io.Discard
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, []string{"gleaner", "mesos-local", "--port", "0", "--agents", "2", "--simulated", "--control-listen", "127.0.0.1:0",
			"--agent", "name=big;attributes=rack:r1,zone:a;resources=cpus:8;mem:8192"})
		w.Close()
	}()
	sc := bufio.NewScanner(r)
	control := ""
	for control == "" && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "control: "); ok {
			control = v
		}
	}
	if control == "" {
		t.Fatalf("no control line on stdout (run: %v)", <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	resp, err := http.Post(control+"/agents/2/restart", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"hostname":"local-agent-2"`) {
		t.Fatalf("POST /agents/2/restart: %d %s", resp.StatusCode, body)
	}
	// The CLI names agents by hostname through the same endpoint.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "list"}, "1  big"},
		{[]string{"agent", "kill", "big"}, "killed agent big (id "},
		{[]string{"agent", "restart", "big"}, "restarted agent big (id "},
		{[]string{"agent", "restart", "2"}, "restarted agent local-agent-2"},
	} {
		var out bytes.Buffer
		app := newApp()
		app.Writer, app.ErrWriter = &out, io.Discard
		args := append([]string{"gleaner", "mesos-local"}, tc.args...)
		args = append(args[:4:4], append([]string{"--control", control}, tc.args[2:]...)...)
		if err := app.Run(args); err != nil || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: %v, output %q, want containing %q", args, err, out.String(), tc.want)
		}
	}
	app2 := newApp()
	app2.Writer, app2.ErrWriter = io.Discard, io.Discard
	if err := app2.Run([]string{"gleaner", "mesos-local", "agent", "kill", "--control", control, "nosuch"}); err == nil || !strings.Contains(err.Error(), `agent "nosuch"`) {
		t.Errorf("agent kill nosuch: %v, want an error naming it", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("mesos-local: %v", err)
	}
}
