package engine

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/placement"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// planAll is a Preempter that, when blocked, takes every victim offered.
type planAll struct {
	FirstFit
	blocked bool
	above   int // the blocked work's priority, 9 if unset
	seen    []placement.Victim
}

func (p *planAll) Blocked(time.Time, time.Duration) (int, bool) {
	if p.above == 0 {
		return 9, p.blocked
	}
	return p.above, p.blocked
}
func (p *planAll) PlanPreemption(_ time.Time, _ time.Duration, running []placement.Victim) (Preemption, bool) {
	p.seen = running
	if len(running) == 0 {
		return Preemption{}, false
	}
	return Preemption{Preemption: placement.Preemption{Hostname: "host-a", Victims: running}, Job: "big", Task: "t", Priority: 9}, true
}

func TestPreempt(t *testing.T) {
	cases := []struct {
		name      string
		blocked   bool
		running   int  // of the 3 launched, how many reported TASK_RUNNING
		requeuing bool // one is being requeued already (an earlier plan)
		kills     int
	}{
		{"nothing blocked", false, 3, false, 0},
		{"blocked: running ones are victims", true, 3, false, 3},
		{"launching attempts are never victims", true, 2, false, 2},
		{"one plan at a time", true, 3, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &planAll{blocked: tc.blocked}
			e := New(m)
			j := etl(0)
			j.Spec.Tasks[0].Instances = 3
			e.AddJob(j)
			ls := e.Plan([]Offer{offer("a", 3, 100)})
			if len(ls) != 3 {
				t.Fatalf("Plan = %d launches, want 3", len(ls))
			}
			for i, l := range ls {
				e.MarkSent([]string{l.Attempt.TaskID()})
				if i < tc.running {
					apply(t, e, l.Attempt.TaskID(), mesos.TASK_RUNNING)
				}
			}
			if tc.requeuing {
				e.Requeue(map[string]string{ls[0].Attempt.TaskID(): "moved"})
			}
			p, kill, ok := e.Preempt(time.Now(), time.Second, "preempted")
			if len(kill) != tc.kills || ok != (tc.kills > 0) {
				t.Fatalf("Preempt = %v, %d kills; want %d", ok, len(kill), tc.kills)
			}
			if !ok {
				return
			}
			if p.Job != "big" || p.Hostname != "host-a" {
				t.Fatalf("plan = %+v", p)
			}
			for _, v := range m.seen {
				if v.Group != GroupOf("etl-1", "extract") || v.Started.IsZero() {
					t.Fatalf("victim %+v", v)
				}
			}
			// The victims are now requeuing: a second plan waits for them.
			if _, kill, ok := e.Preempt(time.Now(), time.Second, "preempted"); ok || len(kill) != 0 {
				t.Fatalf("second Preempt = %v, %v while victims still die", ok, kill)
			}
		})
	}
}
