package retention

import (
	"slices"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
)

// Job is a finished job as retention sees it.
type Job struct {
	ID string
	// Parent is the scheduled job this is a run of ("" for none);
	// Scheduled the run's scheduled time.
	Parent    string
	Scheduled time.Time
	Succeeded bool
	// Ended is when the job finished.
	Ended time.Time
	// TTL is the job's own ttlAfterFinished (0: Input.DefaultTTL).
	TTL time.Duration
}

// Input is everything one retention decision looks at.
type Input struct {
	Now time.Time
	// DefaultTTL applies to jobs without their own TTL; 0 keeps them.
	DefaultTTL time.Duration
	// Finished are the jobs that have finished (never running or pending
	// ones, never scheduled jobs themselves).
	Finished []Job
	// Schedules are the compiled schedules of the scheduled jobs that
	// still exist, by job id: their history limits prune their runs.
	Schedules map[string]*cron.Compiled
}

// Why a job's records are deleted.
const (
	ReasonTTL     = "ttl after finished"
	ReasonHistory = "schedule history limit"
)

// Deletion is one job to delete and why.
type Deletion struct {
	ID  string
	Why string
}

// Plan decides the deletions, in job id order: a finished job whose TTL
// (its own, else the default) has passed since it ended, and a finished
// run beyond its schedule's history limit for its outcome.
func Plan(in Input) []Deletion {
	why := map[string]string{}
	runs := map[string][]cron.FinishedRun{}
	for _, j := range in.Finished {
		ttl := j.TTL
		if ttl <= 0 {
			ttl = in.DefaultTTL
		}
		if ttl > 0 && !in.Now.Before(j.Ended.Add(ttl)) {
			why[j.ID] = ReasonTTL
		}
		if j.Parent != "" && in.Schedules[j.Parent] != nil {
			runs[j.Parent] = append(runs[j.Parent], cron.FinishedRun{Run: cron.Run{ID: j.ID, Scheduled: j.Scheduled}, Succeeded: j.Succeeded})
		}
	}
	for parent, rs := range runs {
		for _, id := range in.Schedules[parent].Prune(rs) {
			if why[id] == "" {
				why[id] = ReasonHistory
			}
		}
	}
	out := make([]Deletion, 0, len(why))
	for id, w := range why {
		out = append(out, Deletion{ID: id, Why: w})
	}
	slices.SortFunc(out, func(a, b Deletion) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}
