package cron

import (
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/retry"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// FromJob converts a job spec's schedule; history limits not given take
// their defaults.
func FromJob(s *job.Schedule) Schedule {
	out := Schedule{Cron: s.Cron, Timezone: s.Timezone, Concurrency: Concurrency(s.Concurrency),
		StartingDeadline: retry.Duration(s.StartingDeadline), Suspend: s.Suspend,
		SuccessfulRunsHistoryLimit: DefaultSuccessfulRunsHistoryLimit, FailedRunsHistoryLimit: DefaultFailedRunsHistoryLimit}
	if s.SuccessfulRunsHistoryLimit != nil {
		out.SuccessfulRunsHistoryLimit = *s.SuccessfulRunsHistoryLimit
	}
	if s.FailedRunsHistoryLimit != nil {
		out.FailedRunsHistoryLimit = *s.FailedRunsHistoryLimit
	}
	return out
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
