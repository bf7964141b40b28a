package retry

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestFromAttempt(t *testing.T) {
	code := func(n int) *int { return &n }
	for _, c := range []struct {
		name   string
		a      job.Attempt
		kill   bool
		signal int
		want   Outcome
	}{
		{"finished", job.Attempt{State: job.AttemptSucceeded, ExitCode: code(0)}, false, 0, Outcome{Kind: Succeeded}},
		{"exit 3", job.Attempt{State: job.AttemptFailed, ExitCode: code(3)}, false, 0, Outcome{Kind: Failed, ExitCode: 3}},
		{"signal", job.Attempt{State: job.AttemptFailed}, false, 15, Outcome{Kind: Signaled, Signal: syscall.SIGTERM}},
		{"timeout", job.Attempt{State: job.AttemptFailed, Reason: "REASON_MAX_COMPLETION_TIME_REACHED"}, false, 9, Outcome{Kind: TimedOut}},
		{"lost", job.Attempt{State: job.AttemptLost, Reason: "REASON_AGENT_REMOVED"}, false, 0, Outcome{Kind: Lost}},
		{"preempted", job.Attempt{State: job.AttemptKilled, Reason: "REASON_CONTAINER_PREEMPTED"}, false, 9, Outcome{Kind: Preempted}},
		{"reclaimed", job.Attempt{State: job.AttemptFailed, Reason: ReasonReclaimed}, false, 9, Outcome{Kind: Reclaimed}},
		{"killed on request", job.Attempt{State: job.AttemptKilled}, true, 0, Outcome{Kind: Killed}},
		{"killed unasked", job.Attempt{State: job.AttemptKilled}, false, 0, Outcome{Kind: Signaled, Signal: syscall.SIGKILL}},
		// Issue 13: an instance that exited 4 on its own while the job's
		// other instances were being killed keeps its own exit status.
		{"own exit during a kill", job.Attempt{State: job.AttemptFailed, ExitCode: code(4)}, true, 0, Outcome{Kind: Failed, ExitCode: 4}},
	} {
		if got := FromAttempt(&c.a, c.kill, c.signal); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// Issue 13: an attempt that never started (no exit status) must not read
// as "exit 0", and a suspended attempt must read as suspended, not lost.
func TestDecisionReasonsSayWhatHappened(t *testing.T) {
	p := Policy{Retries: 3, Backoff: Backoff{Factor: 1}}
	for _, c := range []struct {
		name    string
		o       Outcome
		want    string
		counted bool
	}{
		{"bundle fetch failed", FromAttempt(&job.Attempt{State: job.AttemptFailed, MesosState: "TASK_FAILED",
			Reason: "REASON_CONTAINER_LAUNCH_FAILED", Message: "fetch bundle: 404"}, false, 0),
			"launch failed (REASON_CONTAINER_LAUNCH_FAILED): retry 1 of 3", true},
		{"invalid task", FromAttempt(&job.Attempt{State: job.AttemptFailed, Reason: "REASON_TASK_INVALID"}, false, 0),
			"launch failed (REASON_TASK_INVALID): retry 1 of 3", true},
		{"task error from the master", FromAttempt(&job.Attempt{State: job.AttemptFailed, MesosState: "TASK_ERROR",
			Reason: "REASON_TASK_INVALID"}, false, 0), "launch failed (REASON_TASK_INVALID): retry 1 of 3", true},
		{"never started, no reason", FromAttempt(&job.Attempt{State: job.AttemptFailed, MesosState: "TASK_FAILED",
			Message: "Failed to launch task: exec: no such file"}, false, 0), "launch failed: retry 1 of 3", true},
		{"the command executor could not start it", FromAttempt(&job.Attempt{State: job.AttemptFailed, MesosState: "TASK_FAILED", Started: time.Unix(5, 0),
			Message: "Failed to launch task: fork/exec /x: no such file or directory"}, false, 0), "launch failed: retry 1 of 3", true},
		{"failed without exit status", FromAttempt(&job.Attempt{State: job.AttemptFailed, Started: time.Unix(5, 0), Reason: "REASON_CONTAINER_LIMITATION_DISK"}, false, 0),
			"failed without an exit status (REASON_CONTAINER_LIMITATION_DISK): retry 1 of 3", true},
		{"real exit 0 failure stays exit 0", FromAttempt(&job.Attempt{State: job.AttemptFailed, ExitCode: new(int)}, false, 0),
			"exit 0: retry 1 of 3", true},
		{"suspended", Outcome{Kind: Suspended}, "suspended on request: not counted", false},
	} {
		d := p.Decide(c.o, History{})
		if d.Reason != c.want || d.Consumed != c.counted {
			t.Errorf("%s: reason %q consumed %v, want %q consumed %v", c.name, d.Reason, d.Consumed, c.want, c.counted)
		}
		if strings.Contains(d.Reason, "exit 0") && c.o.Kind != Failed {
			t.Errorf("%s: %q claims an exit status", c.name, d.Reason)
		}
	}
	// A launch failure matches no exit-code rule, not even a notIn one.
	notIn := Policy{Retries: 1, OnFailure: FailurePolicy{Rules: []Rule{{Action: FailJob, ExitCodes: []int{1}, NotIn: true}}}}
	if d := notIn.Decide(Outcome{Kind: LaunchFailed}, History{}); d.Rule != -1 || d.Verdict != Again {
		t.Errorf("launch failure vs notIn rule: %+v, want counted, no rule", d)
	}
	// Suspension neither counts nor grows the backoff.
	if h := (History{Consecutive: 2}).After(Outcome{Kind: Suspended}, p.Decide(Outcome{Kind: Suspended}, History{})); h != (History{Consecutive: 2}) {
		t.Errorf("after suspension history %+v", h)
	}
}
