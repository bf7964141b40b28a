package cron

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Issue 10 finding 8: "@every 1ns" was accepted (a run every second).
// A schedule runs at most once a minute.
func TestCompileRefusesSchedulesMoreOftenThanOnceAMinute(t *testing.T) {
	for _, c := range []struct {
		cron string
		ok   bool
	}{
		{"@every 1ns", false},
		{"@every 1s", false},
		{"@every 59s", false},
		{"@every 1m", true},
		{"@every 90s", true},
		{"* * * * *", true},
		{"@hourly", true},
	} {
		_, err := Schedule{Cron: c.cron}.Compile("schedule")
		if c.ok && err != nil {
			t.Errorf("%q refused: %v", c.cron, err)
		}
		if !c.ok {
			fe, isField := spec.AsFieldError(err)
			if !isField || fe.Field != "schedule.cron" || !strings.Contains(fe.Msg, "more often than once every 1m0s") {
				t.Errorf("%q: got %v, want schedule.cron: ... more often than once every 1m0s", c.cron, err)
			}
		}
	}
	_, err := spec.Parse([]byte("name: tick\nschedule: {cron: '@every 1ns'}\ntasks: [{name: a, command: x}]"))
	if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "schedule.cron" {
		t.Errorf("submit of @every 1ns: got %v", err)
	}
}

func TestHistoryLimitsInSpec(t *testing.T) {
	s, err := spec.Parse([]byte("name: tick\nschedule: {cron: '@hourly'}\ntasks: [{name: a, command: x}]"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromJob(s.Schedule).Compile("schedule")
	if err != nil || c.SuccessfulRunsHistoryLimit != DefaultSuccessfulRunsHistoryLimit || c.FailedRunsHistoryLimit != DefaultFailedRunsHistoryLimit {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	s, err = spec.Parse([]byte("name: tick\nschedule: {cron: '@hourly', successfulRunsHistoryLimit: 0, failedRunsHistoryLimit: 5}\ntasks: [{name: a, command: x}]"))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := FromJob(s.Schedule).Compile("schedule"); c.SuccessfulRunsHistoryLimit != 0 || c.FailedRunsHistoryLimit != 5 {
		t.Fatalf("given: %+v", c.Schedule)
	}
	for doc, field := range map[string]string{
		"name: t\nschedule: {cron: '@hourly', successfulRunsHistoryLimit: -1}\ntasks: [{name: a, command: x}]": "schedule.successfulRunsHistoryLimit",
		"name: t\nschedule: {cron: '@hourly', failedRunsHistoryLimit: 1001}\ntasks: [{name: a, command: x}]":   "schedule.failedRunsHistoryLimit",
		"name: t\nschedule: {cron: '@hourly', failedRunsHistoryLimit: 'many'}\ntasks: [{name: a, command: x}]": "schedule.failedRunsHistoryLimit",
	} {
		_, err := spec.Parse([]byte(doc))
		if fe, ok := spec.AsFieldError(err); !ok || fe.Field != field {
			t.Errorf("%q: got %v, want field %s", doc, err, field)
		}
	}
}

func TestPruneKeepsTheNewestFinishedRunsPerOutcome(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(minute int, ok bool) FinishedRun {
		at := base.Add(time.Duration(minute) * time.Minute)
		return FinishedRun{Run: Run{ID: RunID("tick", at), Scheduled: at}, Succeeded: ok}
	}
	id := func(minute int) string { return RunID("tick", base.Add(time.Duration(minute)*time.Minute)) }
	finished := []FinishedRun{run(5, true), run(1, true), run(2, false), run(3, true), run(4, false), run(6, true), run(7, false)}
	for _, c := range []struct {
		name                string
		keepSucceeded, keep int
		want                []string
	}{
		{"defaults 3 and 1", 3, 1, []string{id(1), id(2), id(4)}},
		{"keep none", 0, 0, []string{id(1), id(2), id(3), id(4), id(5), id(6), id(7)}},
		{"keep more than there are", 10, 10, nil},
		{"keep failed only", 0, 3, []string{id(1), id(3), id(5), id(6)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c2 := &Compiled{Schedule: Schedule{SuccessfulRunsHistoryLimit: c.keepSucceeded, FailedRunsHistoryLimit: c.keep}}
			if got := c2.Prune(finished); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	if got := (&Compiled{}).Prune(nil); got != nil {
		t.Fatalf("nothing finished: %v", got)
	}
}
