package engine

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestEndedForGood(t *testing.T) {
	for _, tc := range []struct {
		state job.AttemptState
		mesos string
		want  bool
	}{
		{job.AttemptSucceeded, "TASK_FINISHED", true},
		{job.AttemptFailed, "TASK_FAILED", true},
		{job.AttemptFailed, "TASK_ERROR", true},
		{job.AttemptKilled, "TASK_KILLED", true},
		{job.AttemptLost, "TASK_KILLED", true}, // killed to move or preempt it
		{job.AttemptLost, "TASK_LOST", false},
		{job.AttemptLost, "TASK_UNREACHABLE", false},
		{job.AttemptLost, "TASK_DROPPED", false},
		{job.AttemptLost, "TASK_GONE", false},
		{job.AttemptLost, "TASK_UNKNOWN", false},
		{job.AttemptLost, "", false}, // ended without a word from Mesos
		{job.AttemptRunning, "TASK_RUNNING", false},
		{job.AttemptRunning, "TASK_FINISHED", false}, // not ended in Gleaner's record
	} {
		a := job.Attempt{State: tc.state, MesosState: tc.mesos}
		if got := EndedForGood(&a); got != tc.want {
			t.Errorf("%s / %s: EndedForGood %v, want %v", tc.state, tc.mesos, got, tc.want)
		}
	}
}

// In one batch a reconciliation's TASK_FINISHED and a resent TASK_RUNNING
// of the same task: the running one is stale, not a live task to kill;
// after TASK_LOST it may really run again and is killed.
func TestObserveAllStaleRunningAfterEndInTheSameBatch(t *testing.T) {
	for _, tc := range []struct {
		end      mesos.TaskState
		wantKill bool
	}{
		{mesos.TASK_FINISHED, false},
		{mesos.TASK_FAILED, false},
		{mesos.TASK_LOST, true},
		{mesos.TASK_UNREACHABLE, true}, // ended lost and requeued: running again is killed
	} {
		j := &job.Job{ID: "j", Submitted: time.Now(), Spec: job.Spec{Name: "j", Tasks: []job.TaskSpec{
			{Name: "t", Command: "true", Instances: 1, Resources: job.Resources{CPUs: 0.1, Mem: 32}}}}}
		e := New(nil)
		e.Load([]*job.Job{j}, map[string][]job.Attempt{"j": {{Job: "j", Task: "t", State: job.AttemptRunning, AgentID: "a1", Created: time.Now()}}})
		outs := e.ObserveAll([]Status{{TaskID: "j.t.0.0", State: tc.end, AgentID: "a1"}, {TaskID: "j.t.0.0", State: mesos.TASK_RUNNING, AgentID: "a1"}})
		if outs[1].Kill != tc.wantKill {
			t.Errorf("%s then TASK_RUNNING: kill %v, want %v", tc.end, outs[1].Kill, tc.wantKill)
		}
	}
}
