package retry

import (
	"syscall"
	"testing"

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
	} {
		if got := FromAttempt(&c.a, c.kill, c.signal); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
