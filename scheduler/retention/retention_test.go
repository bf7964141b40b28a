package retention

import (
	"slices"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
)

func TestPlan(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	keep := func(succeeded, failed int) *cron.Compiled {
		return &cron.Compiled{Schedule: cron.Schedule{SuccessfulRunsHistoryLimit: succeeded, FailedRunsHistoryLimit: failed}}
	}
	run := func(id string, scheduled time.Time, ok bool) Job {
		return Job{ID: id, Parent: "tick", Scheduled: scheduled, Succeeded: ok, Ended: scheduled.Add(time.Minute)}
	}
	cases := []struct {
		name string
		in   Input
		want []Deletion
	}{
		{"nothing finished", Input{Now: now, DefaultTTL: time.Hour}, []Deletion{}},
		{"no default TTL keeps jobs forever", Input{Now: now, Finished: []Job{{ID: "a", Ended: ago(1000 * time.Hour)}}}, []Deletion{}},
		{"default TTL passed", Input{Now: now, DefaultTTL: time.Hour, Finished: []Job{
			{ID: "old", Ended: ago(2 * time.Hour)}, {ID: "young", Ended: ago(30 * time.Minute)}, {ID: "exactly", Ended: ago(time.Hour)},
		}}, []Deletion{{"exactly", ReasonTTL}, {"old", ReasonTTL}}},
		{"the job's own TTL wins over the default", Input{Now: now, DefaultTTL: time.Hour, Finished: []Job{
			{ID: "short", Ended: ago(2 * time.Minute), TTL: time.Minute}, {ID: "long", Ended: ago(2 * time.Hour), TTL: 24 * time.Hour},
		}}, []Deletion{{"short", ReasonTTL}}},
		{"runs beyond the history limits, per outcome", Input{Now: now, Schedules: map[string]*cron.Compiled{"tick": keep(2, 1)}, Finished: []Job{
			run("tick-1", ago(5*time.Hour), true), run("tick-2", ago(4*time.Hour), false), run("tick-3", ago(3*time.Hour), true),
			run("tick-4", ago(2*time.Hour), true), run("tick-5", ago(1*time.Hour), false),
		}}, []Deletion{{"tick-1", ReasonHistory}, {"tick-2", ReasonHistory}}},
		{"a run past its TTL goes even within the limit", Input{Now: now, DefaultTTL: 90 * time.Minute, Schedules: map[string]*cron.Compiled{"tick": keep(3, 3)}, Finished: []Job{
			run("tick-1", ago(5*time.Hour), true), run("tick-5", ago(10*time.Minute), true),
		}}, []Deletion{{"tick-1", ReasonTTL}}},
		{"runs of a deleted schedule only expire", Input{Now: now, Finished: []Job{
			run("tick-1", ago(5*time.Hour), true), run("tick-2", ago(4*time.Hour), true),
		}}, []Deletion{}},
		{"a zero history limit deletes every run of that outcome", Input{Now: now, Schedules: map[string]*cron.Compiled{"tick": keep(0, 1)}, Finished: []Job{
			run("tick-1", ago(2*time.Hour), true), run("tick-2", ago(time.Hour), false),
		}}, []Deletion{{"tick-1", ReasonHistory}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Plan(c.in); !slices.Equal(got, c.want) {
				t.Errorf("Plan = %v, want %v", got, c.want)
			}
		})
	}
}
