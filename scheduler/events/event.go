package events

import (
	"sort"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Event types: "job.<state>" (plus job.submitted), "task.<state>" and
// instance.failed (TypeInstanceFailed), where
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
	// Missed counts the events a TypeMissed line stands for, or, on an
	// instance.failed event, the failures of the same read left out
	// after it (MaxInstanceFailures).
	Missed uint64 `json:"missed,omitempty"`
	// Index, Attempt, ExitCode and Message describe the failed attempt
	// of an instance.failed event.
	Index    *int   `json:"index,omitempty"`
	Attempt  *int   `json:"attempt,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
	Message  string `json:"message,omitempty"`
}

// TypeInstanceFailed is an attempt that ended failed (the command's
// failure, whether or not it is retried).
const TypeInstanceFailed = "instance.failed"

// MaxInstanceFailures bounds the instance.failed events of one job per
// read of the store; MaxMessageBytes a message carried in one.
const (
	MaxInstanceFailures = 20
	MaxMessageBytes     = 512
)

// InstanceFailures returns instance.failed events for the attempts that
// ended failed after since (oldest first, at most MaxInstanceFailures; the
// last one counts the rest in Missed) and the new watermark: the latest
// end time of a failed attempt seen.
func InstanceFailures(st job.Status, attempts []job.Attempt, since time.Time) ([]Event, time.Time) {
	var failed []job.Attempt
	mark := since
	for _, a := range attempts {
		if a.State != job.AttemptFailed || !a.Ended.After(since) {
			continue
		}
		failed = append(failed, a)
		if a.Ended.After(mark) {
			mark = a.Ended
		}
	}
	sort.Slice(failed, func(i, j int) bool {
		if !failed[i].Ended.Equal(failed[j].Ended) {
			return failed[i].Ended.Before(failed[j].Ended)
		}
		return failed[i].TaskID() < failed[j].TaskID()
	})
	var out []Event
	for i, a := range failed {
		if i == MaxInstanceFailures {
			out[len(out)-1].Missed = uint64(len(failed) - MaxInstanceFailures)
			break
		}
		idx, att := a.Index, a.Attempt
		msg := a.Message
		if len(msg) > MaxMessageBytes {
			msg = strings.ToValidUTF8(msg[:MaxMessageBytes], "")
		}
		out = append(out, Event{Type: TypeInstanceFailed, Job: st.ID, Name: st.Name, Task: a.Task, Index: &idx, Attempt: &att,
			State: job.Failed, ExitCode: a.ExitCode, Reason: a.Reason, Message: msg})
	}
	return out, mark
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
