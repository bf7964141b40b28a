package spec

import (
	"fmt"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// The per-index failure tolerance (issue 13), like Kubernetes'
// backoffLimitPerIndex and maxFailedIndexes, on an array task:
//
//	tasks:
//	  - name: shard
//	    instances: 20
//	    backoffLimitPerIndex: 2   # each index: 2 retries of its own
//	    maxFailedIndexes: 3       # up to 3 indexes may fail; the task still succeeds
//
// A failed index does not stop the others. The task fails as soon as more
// than maxFailedIndexes indexes failed (its running instances are killed);
// otherwise it succeeds once every index ended, listing the failed ones.
// Without maxFailedIndexes every index runs and any failed index fails the
// task at the end. The decision is scheduler/retry.IndexTolerance.

// perIndexFields are the task keys parsed here.
var perIndexFields = []string{"backoffLimitPerIndex", "maxFailedIndexes"}

// parsePerIndex reads backoffLimitPerIndex and maxFailedIndexes; the
// retry budget becomes backoffLimitPerIndex.
func parsePerIndex(o obj, t *job.TaskSpec) error {
	limit, hasLimit, err := o.integer("backoffLimitPerIndex")
	if err != nil {
		return err
	}
	maxFailed, hasMax, err := o.integer("maxFailedIndexes")
	if err != nil {
		return err
	}
	if hasMax && !hasLimit {
		return ferr(o.field("maxFailedIndexes"), "needs backoffLimitPerIndex (the per-index failure tolerance)")
	}
	if !hasLimit {
		return nil
	}
	// A stored spec carries both, the same (retries holds the budget).
	if _, both := o.m["retries"]; both && t.Retries != limit {
		return ferr(o.field("backoffLimitPerIndex"), "give retries or backoffLimitPerIndex, not both (backoffLimitPerIndex is each index's retries; retries is %d)", t.Retries)
	}
	if limit < 0 {
		return ferr(o.field("backoffLimitPerIndex"), "must be >= 0, got %d", limit)
	}
	t.BackoffLimitPerIndex, t.Retries = &limit, limit
	if hasMax {
		if maxFailed < 0 {
			return ferr(o.field("maxFailedIndexes"), "must be >= 0, got %d", maxFailed)
		}
		t.MaxFailedIndexes = &maxFailed
	}
	return nil
}

// checkPerIndex validates the per-index tolerance against the rest of the
// task; p is the task's field path.
func checkPerIndex(p string, t *job.TaskSpec) error {
	if t.BackoffLimitPerIndex == nil {
		return nil
	}
	switch {
	case t.MaxFailedIndexes != nil && *t.MaxFailedIndexes > t.Instances:
		return ferr(p+".maxFailedIndexes", "must be <= instances (%d), got %d", t.Instances, *t.MaxFailedIndexes)
	case t.Completions > 0 && t.Completions < t.Instances:
		return ferr(p+".backoffLimitPerIndex", "not with completions (%d): with a per-index tolerance every index runs", t.Completions)
	case t.Restart == "Always":
		return ferr(p+".backoffLimitPerIndex", "not with restart Always (its instances never fail for good)")
	case t.WorkQueue != nil:
		return ferr(p+".backoffLimitPerIndex", "not with workQueue (its workers are not indexes of an array)")
	}
	return nil
}

func init() {
	RegisterCheck(func(s *job.Spec) error {
		for i := range s.Tasks {
			if err := checkPerIndex(fmt.Sprintf("tasks[%d]", i), &s.Tasks[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
