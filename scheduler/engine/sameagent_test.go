package engine

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Restart OnFailure: a failed instance's retry prefers the agent of the
// failed attempt for SameAgentWait, then takes any agent.
func TestRetryPrefersSameAgent(t *testing.T) {
	type step struct {
		after  time.Duration // clock advance before this Plan
		offers []Offer
		want   string // agent of the launch, "" for none
	}
	small := Offer{ID: "a2", AgentID: "agent-a", Hostname: "host-a", Available: res(0.01, 1)} // the old agent, too full
	for _, tc := range []struct {
		name    string
		restart string
		ended   mesos.TaskState
		steps   []step
	}{
		{"the previous agent offers: it is taken though another comes first", "OnFailure", mesos.TASK_FAILED,
			[]step{{0, []Offer{offer("b", 10, 1000), offer("a", 10, 1000)}, "agent-a"}}},
		{"the previous agent is silent: wait, then any agent", "OnFailure", mesos.TASK_FAILED,
			[]step{
				{0, []Offer{offer("b", 10, 1000)}, ""},
				{DefaultSameAgentWait - time.Second, []Offer{offer("c", 10, 1000)}, ""},
				{time.Second, []Offer{offer("b", 10, 1000)}, "agent-b"},
			}},
		{"the previous agent has no room: wait, then any agent", "OnFailure", mesos.TASK_FAILED,
			[]step{
				{0, []Offer{offer("b", 10, 1000), small}, ""},
				{DefaultSameAgentWait, []Offer{offer("b", 10, 1000), small}, "agent-b"},
			}},
		{"the wait counts from the end of the backoff", "OnFailure", mesos.TASK_FAILED,
			[]step{
				{0, []Offer{offer("b", 10, 1000)}, ""},
				// the backoff (2 s) ended 4 s ago, the failure was 6 s ago
				{DefaultSameAgentWait - time.Second, []Offer{offer("b", 10, 1000)}, ""},
				{time.Second, []Offer{offer("b", 10, 1000)}, "agent-b"},
			}},
		{"restart Never: no preference", "Never", mesos.TASK_FAILED,
			[]step{{0, []Offer{offer("b", 10, 1000), offer("a", 10, 1000)}, "agent-b"}}},
		{"a lost attempt is not held (the agent may be gone)", "OnFailure", mesos.TASK_LOST,
			[]step{{0, []Offer{offer("b", 10, 1000), offer("a", 10, 1000)}, "agent-b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{time.Unix(5000, 0)}
			e := New(nil)
			e.SetClock(c.now)
			e.AddJob(parsed(t, "s-1", `{name: s, tasks: [{name: a, command: x, restart: `+tc.restart+`, retries: {limit: 3, backoff: {delay: 2s}}, resources: {cpus: 1, mem: 32}}]}`))
			ls := e.Plan([]Offer{offer("a", 10, 1000)})
			if len(ls) != 1 || ls[0].Attempt.AgentID != "agent-a" {
				t.Fatalf("first launch: %+v", ls)
			}
			end(t, e, ls[0].Attempt.TaskID(), tc.ended, 1)
			// past the backoff (the lost attempt has none)
			c.t = c.t.Add(2 * time.Second)
			e.Tick()
			for i, s := range tc.steps {
				c.t = c.t.Add(s.after)
				e.Tick()
				ls := e.Plan(s.offers)
				got := ""
				if len(ls) > 0 {
					got = ls[0].Attempt.AgentID
				}
				if len(ls) > 1 || got != s.want {
					t.Fatalf("step %d: launches %+v, want one on %q", i, ls, s.want)
				}
				if got == "" && !e.HasPending() {
					t.Fatalf("step %d: the held retry is not pending (offers would be suppressed)", i)
				}
			}
		})
	}
}

// A held retry does not hold back the task's other instances, and other
// agents' offers still take them.
func TestHeldRetryLeavesOthersRunnable(t *testing.T) {
	c := &clock{time.Unix(5000, 0)}
	e := New(nil)
	e.SetClock(c.now)
	e.AddJob(parsed(t, "s-1", `{name: s, tasks: [{name: a, command: x, instances: 3, parallelism: 2, restart: OnFailure, retries: {limit: 3, backoff: {delay: 1s}}, resources: {cpus: 1, mem: 32}}]}`))
	ls := e.Plan([]Offer{offer("a", 10, 1000)})
	if len(ls) != 2 {
		t.Fatalf("first plan: %+v", ls)
	}
	end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 1) // instance 0 failed on agent-a
	c.t = c.t.Add(time.Second)
	e.Tick()
	// agent-b offers: instance 2 (never launched) takes the free slot, the
	// retry of 0 waits for agent-a.
	ls = e.Plan([]Offer{offer("b", 10, 1000)})
	if len(ls) != 1 || ls[0].Attempt.Index != 2 || ls[0].Attempt.AgentID != "agent-b" {
		t.Fatalf("other instance: %+v", ls)
	}
	end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FINISHED, 0)
	ls = e.Plan([]Offer{offer("b", 10, 1000), offer("a", 10, 1000)})
	if len(ls) != 1 || ls[0].Attempt.Index != 0 || ls[0].Attempt.AgentID != "agent-a" || ls[0].Attempt.Attempt != 1 {
		t.Fatalf("retry on its agent: %+v", ls)
	}
	// SetSameAgentWait(0) turns the preference off.
	e.SetSameAgentWait(0)
	end(t, e, ls[0].Attempt.TaskID(), mesos.TASK_FAILED, 1)
	c.t = c.t.Add(2 * time.Second)
	e.Tick()
	if ls = e.Plan([]Offer{offer("b", 10, 1000), offer("a", 10, 1000)}); len(ls) != 1 || ls[0].Attempt.Index != 0 || ls[0].Attempt.AgentID != "agent-b" {
		t.Fatalf("after the failure with no wait: %+v", ls)
	}
}

// A new leader (Load) keeps a failed attempt's retry waiting for its agent;
// a lost one it does not.
func TestLoadKeepsSameAgentPreference(t *testing.T) {
	for _, tc := range []struct {
		ended mesos.TaskState
		want  string // agent of the first launch when agent-b offers first
	}{{mesos.TASK_FAILED, "agent-a"}, {mesos.TASK_LOST, "agent-b"}} {
		t.Run(tc.ended.String(), func(t *testing.T) {
			c := &clock{time.Unix(5000, 0)}
			old := New(nil)
			old.SetClock(c.now)
			j := parsed(t, "s-1", `{name: s, tasks: [{name: a, command: x, restart: OnFailure, retries: {limit: 3, backoff: {delay: 1s}}, resources: {cpus: 1, mem: 32}}]}`)
			old.AddJob(j)
			ls := old.Plan([]Offer{offer("a", 10, 1000)})
			a := end(t, old, ls[0].Attempt.TaskID(), tc.ended, 1)
			c.t = c.t.Add(time.Second)
			e := New(nil)
			e.SetClock(c.now)
			e.Load([]*job.Job{j}, map[string][]job.Attempt{j.ID: {a}})
			e.Tick()
			if tc.want == "agent-a" {
				if ls := e.Plan([]Offer{offer("b", 10, 1000)}); len(ls) != 0 {
					t.Fatalf("the retry did not wait for its agent: %+v", ls)
				}
			}
			ls = e.Plan([]Offer{offer("b", 10, 1000), offer("a", 10, 1000)})
			if len(ls) != 1 || ls[0].Attempt.AgentID != tc.want || ls[0].Attempt.Attempt != 1 {
				t.Fatalf("retry after Load: %+v, want on %s", ls, tc.want)
			}
		})
	}
}
