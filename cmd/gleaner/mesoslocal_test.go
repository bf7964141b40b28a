package main

import (
	"bytes"
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
