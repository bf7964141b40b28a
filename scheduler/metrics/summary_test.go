package metrics

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestSummarize(t *testing.T) {
	task := func(name string, c job.Counts) job.TaskStatus { return job.TaskStatus{Name: name, Counts: c} }
	zeroJobs := func(m map[job.State]int) map[job.State]int {
		out := map[job.State]int{}
		for _, s := range JobStates {
			out[s] = 0
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	zeroInst := func(m map[job.State]int) map[job.State]int {
		out := map[job.State]int{}
		for _, s := range InstanceStates {
			out[s] = 0
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name string
		jobs []JobView
		want Summary
	}{
		{name: "no jobs: every state at zero", want: Summary{Jobs: zeroJobs(nil), Instances: zeroInst(nil), Failures: map[FailureKey]int{}, QueuePending: map[string]int{}, PendingByReason: map[string]int{}}},
		{
			name: "states, queues and failures",
			jobs: []JobView{
				{Status: job.Status{State: job.Running, Tasks: []job.TaskStatus{task("a", job.Counts{Pending: 5, Running: 2, Succeeded: 3}), task("b", job.Counts{Pending: 1})}}, Queue: "etl",
					PendingReasons: map[string]string{"a": "no cpu"},
					Failures: CountFailures([]job.Attempt{
						{State: job.AttemptSucceeded},
						{State: job.AttemptFailed, Reason: "REASON_COMMAND_EXECUTOR_FAILED"},
						{State: job.AttemptLost, Reason: "REASON_AGENT_REMOVED"},
						{State: job.AttemptRunning},
					})},
				{Status: job.Status{State: job.Failed, Tasks: []job.TaskStatus{task("t", job.Counts{Failed: 1, Killed: 2})}},
					Failures: CountFailures([]job.Attempt{{State: job.AttemptFailed, Reason: "REASON_COMMAND_EXECUTOR_FAILED"}, {State: job.AttemptKilled}})},
				{Status: job.Status{State: job.Pending, Tasks: []job.TaskStatus{task("t", job.Counts{Pending: 4})}}},
				{Status: job.Status{State: job.Succeeded, Tasks: []job.TaskStatus{task("t", job.Counts{Succeeded: 7})}}, Queue: "etl"},
			},
			want: Summary{
				Jobs:      zeroJobs(map[job.State]int{job.Running: 1, job.Failed: 1, job.Pending: 1, job.Succeeded: 1}),
				Instances: zeroInst(map[job.State]int{job.Pending: 10, job.Running: 2, job.Succeeded: 10, job.Failed: 1, job.Killed: 2}),
				Failures: map[FailureKey]int{
					{job.AttemptFailed, "REASON_COMMAND_EXECUTOR_FAILED"}: 2,
					{job.AttemptLost, "REASON_AGENT_REMOVED"}:             1,
					{job.AttemptKilled, NoReason}:                         1,
				},
				QueuePending:    map[string]int{"etl": 6, DefaultQueue: 4},
				PendingByReason: map[string]int{"no cpu": 5, NotPlacedReason: 5},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Summarize(c.jobs); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// Free-text reasons cannot make more than MaxReasons+1 series: the most
// frequent stay, the rest count as "other".
func TestSummarizeBoundsReasons(t *testing.T) {
	var as []job.Attempt
	for i := range MaxReasons + 10 {
		for range i + 1 { // reason i occurs i+1 times
			as = append(as, job.Attempt{State: job.AttemptFailed, Reason: fmt.Sprintf("r%03d", i)})
		}
	}
	s := Summarize([]JobView{{Status: job.Status{State: job.Failed}, Failures: CountFailures(as)}})
	if len(s.Failures) != MaxReasons+1 {
		t.Fatalf("%d failure series, want %d", len(s.Failures), MaxReasons+1)
	}
	if _, ok := s.Failures[FailureKey{job.AttemptFailed, "r000"}]; ok {
		t.Fatal("the rarest reason kept")
	}
	if got := s.Failures[FailureKey{job.AttemptFailed, fmt.Sprintf("r%03d", MaxReasons+9)}]; got != MaxReasons+10 {
		t.Fatalf("most frequent reason counted %d", got)
	}
	// reasons 0..9 fold into other: 1+2+...+10
	if got := s.Failures[FailureKey{job.AttemptFailed, OtherReason}]; got != 55 {
		t.Fatalf("other = %d, want 55", got)
	}
}
