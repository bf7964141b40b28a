package cron

import (
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/retry"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// FromJob converts a job spec's schedule.
func FromJob(s *job.Schedule) Schedule {
	return Schedule{Cron: s.Cron, Timezone: s.Timezone, Concurrency: Concurrency(s.Concurrency),
		StartingDeadline: retry.Duration(s.StartingDeadline), Suspend: s.Suspend}
}

// The schedule is checked at submit through the spec parser's hook.
func init() {
	spec.RegisterCheck(func(s *job.Spec) error {
		if s.Schedule == nil {
			return nil
		}
		_, err := FromJob(s.Schedule).Compile("schedule")
		return err
	})
}
