package jobstatus

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/retry"
)

// applyPerIndex gives each task with a per-index failure tolerance
// (backoffLimitPerIndex) the state retry.IndexTolerance decides, with its
// failed indexes listed: a failed index does not fail the task while the
// tolerance lasts.
func applyPerIndex(j *job.Job, attempts []job.Attempt, st *job.Status) {
	var failed map[string][]int
	for i := range st.Tasks {
		ts := &st.Tasks[i]
		t := j.Task(ts.Name)
		if t == nil {
			continue
		}
		tol := retry.ToleranceOf(t)
		if !tol.On {
			continue
		}
		if failed == nil {
			failed = failedIndexes(j, attempts)
		}
		ts.FailedIndexes = failed[ts.Name]
		c := ts.Counts
		if j.KillRequested || c.Running > 0 {
			continue
		}
		switch tol.Phase(ts.Instances, c.Succeeded, c.Failed) {
		case retry.IndexesSucceeded:
			ts.State = job.Succeeded
			if c.Failed > 0 {
				ts.Reason = fmt.Sprintf("%d of %d indexes failed (%s), within maxFailedIndexes %d", c.Failed, ts.Instances, listIndexes(ts.FailedIndexes, c.Failed), tol.MaxFailed)
			}
		case retry.IndexesFailed:
			ts.State = job.Failed
			if tol.MaxFailed >= 0 {
				ts.Reason = fmt.Sprintf("%d indexes failed (%s), more than maxFailedIndexes %d", c.Failed, listIndexes(ts.FailedIndexes, c.Failed), tol.MaxFailed)
			} else {
				ts.Reason = fmt.Sprintf("%d of %d indexes failed (%s; no maxFailedIndexes)", c.Failed, ts.Instances, listIndexes(ts.FailedIndexes, c.Failed))
			}
		default:
			ts.State = job.Pending
			if c.Succeeded+c.Failed+c.Killed+c.Retrying > 0 {
				ts.State = job.Running
			}
		}
	}
}

// maxIndexesInReason bounds the indexes a task's reason names.
const maxIndexesInReason = 10

// listIndexes names the first failed indexes for a reason: "1, 4", or
// "0, 1, …, 9 and 32 more" when there are many (n failed in all).
func listIndexes(idx []int, n int) string {
	shown := idx[:min(len(idx), maxIndexesInReason)]
	parts := make([]string, len(shown))
	for i, x := range shown {
		parts[i] = strconv.Itoa(x)
	}
	s := strings.Join(parts, ", ")
	if more := n - len(shown); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// failedIndexes lists, per task, the indexes whose latest attempt failed
// the instance for good, lowest first, at most job.MaxListedIndexes.
func failedIndexes(j *job.Job, attempts []job.Attempt) map[string][]int {
	type key struct {
		task  string
		index int
	}
	latest := map[key]*job.Attempt{}
	for i := range attempts {
		a := &attempts[i]
		k := key{a.Task, a.Index}
		if l := latest[k]; l == nil || a.Attempt > l.Attempt {
			latest[k] = a
		}
	}
	out := map[string][]int{}
	for k, a := range latest {
		if a.Verdict != job.VerdictFail && a.Verdict != job.VerdictFailJob {
			continue
		}
		if t := j.Task(k.task); t != nil && k.index < t.Instances {
			out[k.task] = append(out[k.task], k.index)
		}
	}
	for name, idx := range out {
		sort.Ints(idx)
		out[name] = idx[:min(len(idx), job.MaxListedIndexes)]
	}
	return out
}
