package jobstatus

import (
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/dag"
	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Derive computes a job's status from its attempts (job.Tally counts the instances), then
// applies the DAG: tasks that will never run are skipped (with the
// reason), a continueOn task's failure does not fail the job, a failJob
// verdict fails it, a suspended job is suspended.
func Derive(j *job.Job, attempts []job.Attempt) job.Status { return derive(j, attempts, nil) }

// derive is Derive of attempts and of the lone running instances listed
// in loneRunning (see job.TallyWithRunning): such an instance only counts
// as running, so nothing past the tally needs its record.
func derive(j *job.Job, attempts []job.Attempt, loneRunning map[string][]int) job.Status {
	attempts = RetryView(j, attempts)
	j = dag.ResolveFanOut(j, dag.OutputsOf(&j.Spec, attempts)) // withParam tasks that fanned out
	st := job.TallyWithRunning(j, attempts, loneRunning)
	retrying := retryingInstances(j, attempts)
	for i := range st.Tasks {
		if n := retrying[st.Tasks[i].Name]; n > 0 {
			c := &st.Tasks[i].Counts
			c.Pending, c.Retrying = c.Pending-n, n
			if st.Tasks[i].State == job.Pending {
				st.Tasks[i].State = job.Running // started, failed once, runs again: not pending
			}
		}
		if t := j.Task(st.Tasks[i].Name); t != nil {
			st.Tasks[i].Depends = t.DependsExpr
			if t.DependsExpr == "" {
				st.Tasks[i].Depends = strings.Join(t.Depends, ", ")
			}
		}
	}
	applyPerIndex(j, attempts, &st)
	st.Reason = j.KillReason
	failJob := false
	for i := range attempts {
		if attempts[i].Verdict == job.VerdictFailJob {
			failJob = true
			if st.Reason == "" {
				st.Reason = "failJob: task " + attempts[i].Task + " " + strings.TrimSpace(attempts[i].Message)
			}
		}
	}
	g, err := dag.FromSpec(&j.Spec)
	if err != nil {
		return st
	}
	outputs := dag.OutputsOf(&j.Spec, attempts) // for when conditions on outputs
	states := make(map[string]dag.State, len(st.Tasks))
	for _, ts := range st.Tasks {
		states[ts.Name] = dag.State(ts.State)
	}
	if !j.KillRequested && !failJob {
		for {
			ds, err := g.Evaluate(states, j.Spec.Params, dag.Options{FailFast: j.Spec.FailFast, Outputs: outputs, CheckFanOut: expand.CheckFanOut})
			if err != nil {
				break
			}
			changed := false
			for i, ts := range st.Tasks {
				d := ds[ts.Name]
				if d.Verdict == dag.Skip && ts.State == job.Pending {
					st.Tasks[i].State, st.Tasks[i].Reason, changed = job.Skipped, d.Reason, true
					c := &st.Tasks[i].Counts
					c.Skipped, c.Pending = c.Pending, 0
					states[ts.Name] = dag.Skipped
				} else if d.Verdict == dag.Wait {
					st.Tasks[i].Reason = d.Reason
				}
			}
			if !changed {
				break
			}
		}
	}
	running, allEnded, started := false, true, false
	for _, ts := range st.Tasks {
		switch ts.State {
		case job.Running:
			running, started, allEnded = true, true, false
		case job.Pending:
			allEnded = false
			if ts.Counts.Succeeded+ts.Counts.Failed+ts.Counts.Killed > 0 {
				started = true
			}
		default:
			started = started || ts.State != job.Skipped
		}
	}
	failing := len(g.Failing(states)) > 0
	switch {
	case running:
		st.State = job.Running
	case j.KillRequested && !(allEnded && !failing && allSucceededOrSkipped(st)):
		st.State = job.Killed
	case failJob || (allEnded && failing):
		st.State = job.Failed
	case allEnded:
		st.State = job.Succeeded
	case j.Suspended:
		st.State = job.Suspended
	case started:
		st.State = job.Running
	default:
		st.State = job.Pending
	}
	if j.Suspended && !st.State.Terminal() {
		st.State = job.Suspended
	}
	return st
}

// retryingInstances counts, per task, the instances whose latest attempt
// ended with the verdict "again" (counted as pending by job.Tally): they
// wait out a backoff or an offer to run again. A kill request ends them.
func retryingInstances(j *job.Job, attempts []job.Attempt) map[string]int {
	if j.KillRequested {
		return nil
	}
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
	out := map[string]int{}
	for k, a := range latest {
		if a.Verdict != job.VerdictAgain || !a.State.Terminal() {
			continue
		}
		if t := j.Task(k.task); t != nil && k.index < t.Instances {
			out[k.task]++
		}
	}
	return out
}

func allSucceededOrSkipped(st job.Status) bool {
	for _, ts := range st.Tasks {
		if ts.State != job.Succeeded && ts.State != job.Skipped {
			return false
		}
	}
	return true
}

// RetryView is the attempts of a job as its retry sees them: an ended
// attempt from before the job's RetriedAt that failed the instance (or was
// killed, or belongs to a Rerun task) reads as "again", so the instance
// runs again. Without RetriedAt the attempts are returned as they are.
func RetryView(j *job.Job, as []job.Attempt) []job.Attempt {
	if j.RetriedAt.IsZero() {
		return as
	}
	out := make([]job.Attempt, len(as))
	copy(out, as)
	for i := range out {
		a := &out[i]
		if !a.State.Terminal() || !a.Created.Before(j.RetriedAt) {
			continue
		}
		rerun := false
		for _, t := range j.Rerun {
			rerun = rerun || t == a.Task
		}
		switch {
		case rerun, a.Verdict == job.VerdictFail, a.Verdict == job.VerdictFailJob, a.Verdict == job.VerdictStop,
			a.Verdict == "" && a.State != job.AttemptSucceeded:
			a.Verdict, a.NotBefore = job.VerdictAgain, time.Time{}
		}
	}
	return out
}
