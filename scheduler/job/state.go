package job

import "sort"

// State is the derived state of an instance, task or job.
type State string

// Derived states.
const (
	Pending   State = "pending"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Killed    State = "killed"
	// Skipped: a task whose dependencies or `when` mean it never runs.
	Skipped State = "skipped"
	// Suspended: a job held by POST /v1/jobs/{id}/suspend.
	Suspended State = "suspended"
)

// InstanceState derives an instance's state from its attempts (any order)
// and its task's retry budget: failed attempts beyond retries fail it; lost
// attempts never count. killRequested turns a not-finished instance killed.
func InstanceState(attempts []Attempt, retries int, killRequested bool) State {
	if len(attempts) == 0 {
		if killRequested {
			return Killed
		}
		return Pending
	}
	last := latest(attempts)
	switch last.State {
	case AttemptLaunching, AttemptRunning:
		return Running
	}
	switch last.Verdict {
	case VerdictDone:
		return Succeeded
	case VerdictFail, VerdictFailJob:
		return Failed
	case VerdictStop:
		return Killed
	case VerdictAgain:
		if killRequested {
			return Killed
		}
		return Pending
	}
	if last.State == AttemptSucceeded {
		return Succeeded
	}
	if killRequested && last.State == AttemptKilled {
		return Killed
	}
	if FailedAttempts(attempts) > retries {
		return Failed
	}
	if killRequested {
		return Killed
	}
	return Pending
}

// FailedAttempts counts attempts that consumed a retry (failed, or killed
// without a kill request: both mean the command did not succeed).
func FailedAttempts(attempts []Attempt) int {
	n := 0
	for i := range attempts {
		if attempts[i].State == AttemptFailed || attempts[i].State == AttemptKilled {
			n++
		}
	}
	return n
}

func latest(attempts []Attempt) *Attempt {
	best := &attempts[0]
	for i := range attempts {
		if attempts[i].Attempt > best.Attempt {
			best = &attempts[i]
		}
	}
	return best
}

// Counts are per-state instance counts of a task.
type Counts struct {
	Pending   int `json:"pending"`
	Running   int `json:"running"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Killed    int `json:"killed"`
	// Skipped instances belong to a task the DAG skipped: they never run.
	// Retrying instances wait to run again after an ended attempt (a
	// backoff, or the next offer). Both are set by jobstatus.Derive, and
	// neither is counted in Pending.
	Skipped  int `json:"skipped"`
	Retrying int `json:"retrying"`
}

// Add counts one instance in state s.
func (c *Counts) Add(s State, n int) {
	switch s {
	case Pending:
		c.Pending += n
	case Running:
		c.Running += n
	case Succeeded:
		c.Succeeded += n
	case Failed:
		c.Failed += n
	case Killed:
		c.Killed += n
	}
}

// TaskState derives a task's state from its instance counts and the
// successes it needs (TaskSpec.Needed). A task stays running while any
// instance runs, even once it is bound to fail, so a final state always
// means nothing of it runs any more. Enough successes forgive failures.
func TaskState(c Counts, needed int) State {
	switch {
	case c.Running > 0:
		return Running
	case c.Succeeded >= needed:
		return Succeeded
	case c.Failed > 0:
		return Failed
	case c.Killed > 0:
		return Killed
	case c.Succeeded > 0:
		return Running
	}
	return Pending
}

// JobState derives a job's state from its tasks' states. A job with a failed
// task is failed; a killed job is killed once nothing runs any more.
func JobState(tasks []State, killRequested bool) State {
	all, running, failed, started := true, false, false, false
	for _, s := range tasks {
		if s != Succeeded && s != Skipped {
			all = false
		}
		switch s {
		case Running:
			running, started = true, true
		case Failed:
			failed = true
		case Succeeded:
			started = true
		}
	}
	switch {
	case all:
		return Succeeded
	case running:
		return Running
	case failed:
		return Failed
	case killRequested:
		return Killed
	case started:
		return Running
	}
	return Pending
}

// Terminal reports whether a derived state is final.
func (s State) Terminal() bool { return s == Succeeded || s == Failed || s == Killed }

// TaskStatus is the derived view of one task.
type TaskStatus struct {
	Name      string `json:"name"`
	State     State  `json:"state"`
	Instances int    `json:"instances"`
	Counts    Counts `json:"counts"`
	// Reason explains a skipped or waiting task (from the DAG).
	Reason string `json:"reason,omitempty"`
	// Depends is the task's dependency as written: "a, b" or the
	// expression.
	Depends string `json:"depends,omitempty"`
	// FailedIndexes lists the failed indexes of a task with a per-index
	// failure tolerance (backoffLimitPerIndex), lowest first, at most
	// MaxListedIndexes of them (jobstatus.Derive).
	FailedIndexes []int `json:"failedIndexes,omitempty"`
}

// MaxListedIndexes bounds TaskStatus.FailedIndexes.
const MaxListedIndexes = 100

// Status is the derived view of a job, as served by GET /v1/jobs/{id}.
type Status struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	State     State        `json:"state"`
	Submitted string       `json:"submitted"`
	Tasks     []TaskStatus `json:"tasks"`
	// Reason says why Gleaner killed or failed the job (deadline exceeded,
	// a failJob rule), if it did.
	Reason string `json:"reason,omitempty"`
}

// Tally counts a job's instances per state from its attempts (any order,
// any task) and gives each task and the job the state the counts alone
// imply. Instances without attempts are pending (or killed), so a huge task
// with no attempts costs nothing per instance. It knows nothing of the DAG,
// failJob or suspension: the status the API serves is jobstatus.Derive.
func Tally(j *Job, attempts []Attempt) Status { return TallyWithRunning(j, attempts, nil) }

// TallyWithRunning is Tally of attempts and of the instances listed in
// running (per task, indexes below its instance count), each of which has
// one record, a launching or running attempt, not among attempts: a reader
// of a huge running job passes those as indexes instead of records
// (jobstatus.Reduction, jobstatus.Live).
func TallyWithRunning(j *Job, attempts []Attempt, running map[string][]int) Status {
	byInst := map[string]map[int][]Attempt{}
	for _, a := range attempts {
		m := byInst[a.Task]
		if m == nil {
			m = map[int][]Attempt{}
			byInst[a.Task] = m
		}
		m[a.Index] = append(m[a.Index], a)
	}
	st := Status{ID: j.ID, Name: j.Spec.Name, Submitted: j.Submitted.UTC().Format("2006-01-02T15:04:05Z")}
	var states []State
	for _, t := range j.Spec.Tasks {
		var c Counts
		insts := byInst[t.Name]
		idx := make([]int, 0, len(insts))
		for i := range insts {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			if i < t.Instances {
				c.Add(InstanceState(insts[i], t.Retries, j.KillRequested), 1)
			}
		}
		alsoRunning := running[t.Name]
		c.Add(Running, len(alsoRunning))
		// Folded instances succeeded (their records were folded away);
		// an index with an attempt record counts by its record.
		folded := 0
		for _, r := range j.Folded[t.Name] {
			folded += min(r.To, t.Instances) - r.From
		}
		for _, i := range idx {
			if j.Folded.Has(t.Name, i) {
				folded--
			}
		}
		for _, i := range alsoRunning {
			if j.Folded.Has(t.Name, i) {
				folded--
			}
		}
		c.Add(Succeeded, folded)
		untouched := t.Instances - len(idx) - len(alsoRunning) - folded
		if j.KillRequested {
			c.Add(Killed, untouched)
		} else {
			c.Add(Pending, untouched)
		}
		s := TaskState(c, t.Needed())
		states = append(states, s)
		st.Tasks = append(st.Tasks, TaskStatus{Name: t.Name, State: s, Instances: t.Instances, Counts: c})
	}
	st.State = JobState(states, j.KillRequested)
	return st
}
