package metrics

import (
	"sort"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// JobStates and InstanceStates are the states always exported (as 0 when
// no job or instance is in them), so a dashboard or an alert never sees a
// series vanish.
var (
	JobStates      = []job.State{job.Pending, job.Running, job.Suspended, job.Succeeded, job.Failed, job.Killed}
	InstanceStates = []job.State{job.Pending, job.Running, job.Succeeded, job.Failed, job.Killed}
)

// MaxReasons bounds the distinct failure reasons exported; attempts with
// further reasons count under OtherReason, so a reason made of free text
// cannot blow up the number of series.
const MaxReasons = 32

// Reason labels for failed attempts without a reason and beyond MaxReasons.
const (
	NoReason    = "none"
	OtherReason = "other"
)

// DefaultQueue is the queue label of jobs that name none.
const DefaultQueue = "default"

// FailureKey is one failure series: how the attempt ended and why.
type FailureKey struct {
	State  job.AttemptState
	Reason string
}

// Summary is what the state collector exports, computed from job statuses
// and their attempts.
type Summary struct {
	Jobs      map[job.State]int
	Instances map[job.State]int
	// Failures counts ended attempts that did not succeed (failed, killed,
	// lost), by state and reason.
	Failures map[FailureKey]int
	// QueuePending counts pending instances by the jobs' queue.
	QueuePending map[string]int
	// PendingByReason counts pending instances by why their task waits:
	// the placement's leading rejection reason of the last offer cycle,
	// NotPlacedReason when placement has not tried the task.
	PendingByReason map[string]int
}

// NotPlacedReason is the pending reason of a task placement has not tried
// in its last offer cycle (dependencies, backoff, no offer cycle yet).
const NotPlacedReason = "not tried"

// JobView is one job as Summarize reads it: its derived status, the queue
// it was submitted to and its failed attempts counted (CountFailures), so
// a view holds no attempt records.
type JobView struct {
	Status   job.Status
	Queue    string
	Failures map[FailureKey]int
	// PendingReasons maps a task with pending instances to why it waits
	// (missing: NotPlacedReason).
	PendingReasons map[string]string
}

// Summarize counts jobs, instances, failed attempts and pending instances
// per queue. It is pure: the collector feeds it what the store holds.
func Summarize(jobs []JobView) Summary {
	s := Summary{Jobs: map[job.State]int{}, Instances: map[job.State]int{}, Failures: map[FailureKey]int{}, QueuePending: map[string]int{}}
	pendingRaw := map[FailureKey]int{}
	for _, st := range JobStates {
		s.Jobs[st] = 0
	}
	for _, st := range InstanceStates {
		s.Instances[st] = 0
	}
	raw := map[FailureKey]int{}
	for _, j := range jobs {
		s.Jobs[j.Status.State]++
		q := j.Queue
		if q == "" {
			q = DefaultQueue
		}
		var pending int
		for _, t := range j.Status.Tasks {
			c := t.Counts
			c.Pending += c.Retrying // an instance to run again waits to be placed, as a pending one
			s.Instances[job.Pending] += c.Pending
			s.Instances[job.Running] += c.Running
			s.Instances[job.Succeeded] += c.Succeeded
			s.Instances[job.Failed] += c.Failed
			s.Instances[job.Killed] += c.Killed
			pending += c.Pending
			if c.Pending > 0 {
				r := j.PendingReasons[t.Name]
				if r == "" {
					r = NotPlacedReason
				}
				pendingRaw[FailureKey{Reason: r}] += c.Pending
			}
		}
		if pending > 0 || j.Status.State == job.Pending || j.Status.State == job.Running {
			s.QueuePending[q] += pending
		}
		for k, n := range j.Failures {
			raw[k] += n
		}
	}
	s.Failures = boundReasons(raw, MaxReasons)
	s.PendingByReason = map[string]int{}
	for k, n := range boundReasons(pendingRaw, MaxReasons) {
		s.PendingByReason[k.Reason] += n
	}
	return s
}

// CountFailures counts a job's attempts that ended failed, killed or lost,
// by state and reason (NoReason when it has none).
func CountFailures(as []job.Attempt) map[FailureKey]int {
	out := map[FailureKey]int{}
	for _, a := range as {
		switch a.State {
		case job.AttemptFailed, job.AttemptKilled, job.AttemptLost:
			r := a.Reason
			if r == "" {
				r = NoReason
			}
			out[FailureKey{State: a.State, Reason: r}]++
		}
	}
	return out
}

// boundReasons keeps the max most frequent reasons (ties by name, so the
// choice is stable) and folds the others into OtherReason.
func boundReasons(raw map[FailureKey]int, max int) map[FailureKey]int {
	totals := map[string]int{}
	for k, n := range raw {
		totals[k.Reason] += n
	}
	if len(totals) <= max {
		return raw
	}
	reasons := make([]string, 0, len(totals))
	for r := range totals {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(a, b int) bool {
		if totals[reasons[a]] != totals[reasons[b]] {
			return totals[reasons[a]] > totals[reasons[b]]
		}
		return reasons[a] < reasons[b]
	})
	keep := map[string]bool{}
	for _, r := range reasons[:max] {
		keep[r] = true
	}
	out := map[FailureKey]int{}
	for k, n := range raw {
		if !keep[k.Reason] {
			k.Reason = OtherReason
		}
		out[k] += n
	}
	return out
}
