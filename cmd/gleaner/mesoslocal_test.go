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
		done <- app.RunContext(ctx, []string{"gleaner", "mesos-local", "--port", "0", "--agents", "2", "--simulated", "--control-listen", "127.0.0.1:0"})
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
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("mesos-local: %v", err)
	}
}
