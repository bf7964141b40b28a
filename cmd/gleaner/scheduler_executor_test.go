package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/framework"
)

// `gleaner scheduler` fails closed: it will not start without a chosen
// executor, and not with tasks running as root unless told it is unsafe.
func TestSchedulerRefusesToStart(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "scheduler: no executor: give --executor-path"},
		{[]string{"--user", "nobody"}, "--command-executor runs tasks without Gleaner's isolation"},
		{[]string{"--executor-path", "/opt/gleaner/bin/gleaner-executor", "--executor-uri", "http://repo/gleaner"}, "give one of"},
		{[]string{"--executor-path", "/opt/gleaner/bin/gleaner-executor", "--command-executor"}, "give one of"},
		{[]string{"--command-executor", "--user", "root"}, "--user root: with --command-executor every task runs as this user; give --allow-root-tasks"},
		{[]string{"--command-executor", "--user", "0"}, "--allow-root-tasks"},
	} {
		app := newApp()
		var out, errOut bytes.Buffer
		app.Writer, app.ErrWriter = &out, &errOut
		// An address that cannot be listened on: a scheduler that wrongly
		// got past its flags fails here instead of running.
		args := append([]string{"gleaner", "scheduler", "--listen", "256.0.0.1:1", "--etcd", "http://127.0.0.1:1"}, c.args...)
		err := app.Run(args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("scheduler %v: error %v, want containing %q", c.args, err, c.want)
		}
	}
}

func TestSchedulerExecutorFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want framework.Config
	}{
		{[]string{"--executor-path", "/opt/gleaner/bin/gleaner-executor"}, framework.Config{ExecutorPath: "/opt/gleaner/bin/gleaner-executor", User: "root"}},
		{[]string{"--executor-uri", "http://repo/gleaner", "--allow-root-tasks"}, framework.Config{ExecutorURI: "http://repo/gleaner", User: "root", AllowRootTasks: true}},
		{[]string{"--command-executor"}, framework.Config{User: "nobody"}},
		{[]string{"--command-executor", "--user", "batch"}, framework.Config{User: "batch"}},
		{[]string{"--command-executor", "--user", "root", "--allow-root-tasks"}, framework.Config{User: "root", AllowRootTasks: true}},
	} {
		var got framework.Config
		var gotErr error
		app := &cli.App{Flags: schedulerFlags(), Action: func(ctx *cli.Context) error {
			got, gotErr = executorFlags(ctx)
			return nil
		}}
		if err := app.Run(append([]string{"scheduler"}, c.args...)); err != nil {
			t.Fatal(err)
		}
		if gotErr != nil {
			t.Errorf("%v: %v", c.args, gotErr)
			continue
		}
		if got.ExecutorPath != c.want.ExecutorPath || got.ExecutorURI != c.want.ExecutorURI || got.User != c.want.User || got.AllowRootTasks != c.want.AllowRootTasks {
			t.Errorf("%v: path %q uri %q user %q allow-root %v, want %+v", c.args, got.ExecutorPath, got.ExecutorURI, got.User, got.AllowRootTasks, c.want)
		}
	}
}

// `gleaner dev` runs tasks under the Gleaner executor — its own binary —
// unless told otherwise.
func TestDevExecutorPath(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path    string
		command bool
		want    string
		err     string
	}{
		{"", false, self, ""},
		{"/opt/gleaner/bin/gleaner-executor", false, "/opt/gleaner/bin/gleaner-executor", ""},
		{"", true, "", ""},
		{"/opt/gleaner/bin/gleaner-executor", true, "", "not both"},
	} {
		got, err := devExecutorPath(c.path, c.command)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q %v: %v", c.path, c.command, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q %v: error %v, want containing %q", c.path, c.command, err, c.err)
		case got != c.want:
			t.Errorf("%q %v: executor path %q, want %q", c.path, c.command, got, c.want)
		}
	}
}
