package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/framework"
)

// intFlagCase is a command line and what a flag's check makes of it.
type intFlagCase struct {
	args    []string
	want    int
	wantErr string
}

// testIntFlag runs each case's arguments through the scheduler's flags
// and checks what check makes of the flag's value.
func testIntFlag(t *testing.T, flag string, check func(int) (int, error), cases []intFlagCase) {
	t.Helper()
	for _, c := range cases {
		var got int
		var gotErr error
		app := &cli.App{Flags: schedulerFlags(), Action: func(ctx *cli.Context) error {
			got, gotErr = check(ctx.Int(flag))
			return nil
		}}
		if err := app.Run(append([]string{"scheduler"}, c.args...)); err != nil {
			t.Fatal(err)
		}
		if c.wantErr != "" {
			if gotErr == nil || !strings.Contains(gotErr.Error(), c.wantErr) {
				t.Errorf("%v: error %v, want %q", c.args, gotErr, c.wantErr)
			}
			continue
		}
		if gotErr != nil || got != c.want {
			t.Errorf("%v: %d, %v; want %d", c.args, got, gotErr, c.want)
		}
	}
}

func TestSchedulerMaxEventBytesFlag(t *testing.T) {
	testIntFlag(t, "max-event-bytes", maxEventBytes, []intFlagCase{
		{nil, framework.DefaultMaxEventBytes, ""},
		{[]string{"--max-event-bytes", "134217728"}, 128 << 20, ""},
		{[]string{"--max-event-bytes", "1048576"}, 1 << 20, ""},
		{[]string{"--max-event-bytes", "1000"}, 0, "--max-event-bytes 1000: want 1048576 (1 MiB) to 1073741824 (1 GiB)"},
		{[]string{"--max-event-bytes", "0"}, 0, "--max-event-bytes 0"},
		{[]string{"--max-event-bytes", "2147483648"}, 0, "--max-event-bytes 2147483648"},
	})
}

func TestSchedulerMaxUpdateBacklogFlag(t *testing.T) {
	testIntFlag(t, "max-update-backlog", maxUpdateBacklog, []intFlagCase{
		{nil, framework.DefaultMaxUpdateBacklog, ""},
		{[]string{"--max-update-backlog", "5000"}, 5000, ""},
		{[]string{"--max-update-backlog", "2"}, 2, ""},
		{[]string{"--max-update-backlog", "1"}, 0, "--max-update-backlog 1: want at least 2 (each launch brings two status updates)"},
		{[]string{"--max-update-backlog", "0"}, 0, "--max-update-backlog 0"},
		{[]string{"--max-update-backlog", "-3"}, 0, "--max-update-backlog -3"},
	})
}
