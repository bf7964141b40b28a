package events

import (
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Event types: "job.<state>" (plus job.submitted) and "task.<state>", where
// state is a job.State: pending, running, succeeded, failed, killed,
// skipped, suspended.
const (
	TypeJobSubmitted = "job.submitted"
	// TypeMissed is a line of the /v1/events stream saying events were
	// evicted from the Log before the reader got them (Missed counts them).
	TypeMissed = "events.missed"
)

// Event is one state change of a job or of one of its tasks.
type Event struct {
	// ID is unique per scheduler process and event (<run>-<seq>); Seq
	// orders the events of one scheduler process.
	ID   string    `json:"id"`
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	Job  string    `json:"job"`
	// Name is the job's name; Task the task's (task events only).
	Name     string    `json:"name,omitempty"`
	Task     string    `json:"task,omitempty"`
	State    job.State `json:"state,omitempty"`
	Previous job.State `json:"previous,omitempty"`
	// Reason is the job's or task's reason, when it has one.
	Reason string `json:"reason,omitempty"`
	// Counts are a task's instance counts (task events only).
	Counts *job.Counts `json:"counts,omitempty"`
	// Missed counts the events a TypeMissed line stands for.
	Missed uint64 `json:"missed,omitempty"`
}

// Diff returns the events that lead from prev (nil: the job was not seen
// before) to cur, in order: job.submitted for a new job, then each task
// whose state changed (in spec order), then the job's own change. A new
// job's tasks and job count as changed from pending.
func Diff(prev *job.Status, cur job.Status) []Event {
	var out []Event
	prevJob := job.Pending
	prevTasks := map[string]job.State{}
	if prev == nil {
		out = append(out, Event{Type: TypeJobSubmitted, Job: cur.ID, Name: cur.Name, State: cur.State})
	} else {
		prevJob = prev.State
		for _, t := range prev.Tasks {
			prevTasks[t.Name] = t.State
		}
	}
	for _, t := range cur.Tasks {
		was, ok := prevTasks[t.Name]
		if !ok {
			was = job.Pending
		}
		if t.State == was {
			continue
		}
		c := t.Counts
		out = append(out, Event{Type: "task." + string(t.State), Job: cur.ID, Name: cur.Name, Task: t.Name,
			State: t.State, Previous: was, Reason: t.Reason, Counts: &c})
	}
	if cur.State != prevJob {
		out = append(out, Event{Type: "job." + string(cur.State), Job: cur.ID, Name: cur.Name, State: cur.State,
			Previous: prevJob, Reason: cur.Reason})
	}
	return out
}
