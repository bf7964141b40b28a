package retry

import (
	"strings"
	"syscall"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// Mesos reasons (TaskStatus.Reason names) that classify an attempt.
const (
	reasonPreempted = "REASON_CONTAINER_PREEMPTED"
	reasonTimeout   = "REASON_MAX_COMPLETION_TIME_REACHED"
)

// ReasonReclaimed is the attempt reason Gleaner records when the monitor
// took an agent's resources back and the attempt was evicted.
const ReasonReclaimed = "GLEANER_RECLAIMED"

// FromAttempt classifies a terminal attempt for Decide. killRequested is
// the job's desired state; signal is the terminating signal the executor
// reported (0 if none: job.Attempt does not carry it yet).
func FromAttempt(a *job.Attempt, killRequested bool, signal int) Outcome {
	switch {
	case strings.Contains(a.Reason, reasonPreempted):
		return Outcome{Kind: Preempted}
	case a.Reason == ReasonReclaimed:
		return Outcome{Kind: Reclaimed}
	}
	switch a.State {
	case job.AttemptSucceeded:
		return Outcome{Kind: Succeeded}
	case job.AttemptLost:
		return Outcome{Kind: Lost}
	case job.AttemptKilled:
		if killRequested {
			return Outcome{Kind: Killed}
		}
	}
	if a.Reason == reasonTimeout {
		return Outcome{Kind: TimedOut}
	}
	if signal > 0 {
		return Outcome{Kind: Signaled, Signal: syscall.Signal(signal)}
	}
	if a.State == job.AttemptFailed && a.ExitCode == nil {
		// Mesos says it could not start; or it was never even starting; or
		// the command executor, which gives no reason, says so in its
		// message ("Failed to launch task: fork/exec …").
		if a.MesosState == "TASK_ERROR" || launchReasons[a.Reason] || a.Started.IsZero() ||
			strings.HasPrefix(a.Message, "Failed to launch") {
			return Outcome{Kind: LaunchFailed, Reason: a.Reason}
		}
		return Outcome{Kind: Failed, NoExit: true, Reason: a.Reason}
	}
	o := Outcome{Kind: Failed}
	if a.ExitCode != nil {
		o.ExitCode = *a.ExitCode
	}
	if a.State == job.AttemptKilled && o.ExitCode == 0 {
		// Killed without a request (e.g. by the agent): SIGKILL.
		return Outcome{Kind: Signaled, Signal: syscall.SIGKILL}
	}
	return o
}

// launchReasons are the Mesos reasons of a failed attempt whose command
// never started: it has no exit status to report.
var launchReasons = map[string]bool{
	"REASON_CONTAINER_LAUNCH_FAILED":       true,
	"REASON_TASK_INVALID":                  true,
	"REASON_EXECUTOR_REGISTRATION_TIMEOUT": true,
	"REASON_COMMAND_EXECUTOR_FAILED":       true,
	"REASON_TASK_UNAUTHORIZED":             true,
	"REASON_TASK_GROUP_INVALID":            true,
}
