package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func arrayOf(id string, instances int, cpus float64) *job.Job {
	return &job.Job{ID: id, Submitted: time.Unix(1, 0), Spec: job.Spec{Name: id, Tasks: []job.TaskSpec{
		{Name: "t", Command: "true", Instances: instances, Resources: res(cpus, 10)}}}}
}

var testCycle = CyclePolicy{Refuse: 5 * time.Second, Idle: 2 * time.Minute, PreemptAfter: time.Second, PreemptReason: "preempted"}

// TestCycle: one call decides the launches per offer, the declines and
// their refuse filter, suppress and the pending counts.
func TestCycle(t *testing.T) {
	cases := []struct {
		name        string
		instances   int
		offers      []Offer
		perOffer    []int // launches per offer
		declines    []int
		refuse      time.Duration
		suppress    bool
		before, now int
		maxLaunches int
	}{
		{"all placed on one offer", 2, []Offer{offer("a", 4, 100)}, []int{2}, nil, testCycle.Idle, true, 2, 0, 0},
		{"an unused offer is declined for the idle time", 1, []Offer{offer("a", 1, 100), offer("b", 1, 100)}, []int{1, 0}, []int{1}, testCycle.Idle, true, 1, 0, 0},
		{"work left: short refuse, no suppress", 3, []Offer{offer("a", 1, 100), offer("b", 0.5, 100)}, []int{1, 0}, []int{1}, testCycle.Refuse, false, 3, 2, 0},
		{"no offers", 1, nil, []int{}, nil, testCycle.Refuse, false, 1, 1, 0},
		{"launches bounded: the rest stays pending, offers beyond declined briefly", 5, []Offer{offer("a", 2, 100), offer("b", 2, 100)}, []int{2, 1}, nil, testCycle.Refuse, false, 5, 2, 3},
		{"a bound of one", 3, []Offer{offer("a", 4, 100), offer("b", 4, 100)}, []int{1, 0}, []int{1}, testCycle.Refuse, false, 3, 2, 1},
		{"a bound above the work", 2, []Offer{offer("a", 4, 100)}, []int{2}, nil, testCycle.Idle, true, 2, 0, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := New(nil)
			e.AddJob(arrayOf("j", tc.instances, 1))
			p := testCycle
			p.MaxLaunches = tc.maxLaunches
			d := e.Cycle(tc.offers, p)
			got := make([]int, len(d.Launches))
			for i, ls := range d.Launches {
				got[i] = len(ls)
				for _, l := range ls {
					if l.Offer != i {
						t.Fatalf("launch %s under offer %d says offer %d", l.Attempt.TaskID(), i, l.Offer)
					}
				}
			}
			if !slices.Equal(got, tc.perOffer) || !slices.Equal(d.Declines, tc.declines) || d.Refuse != tc.refuse ||
				d.Suppress != tc.suppress || d.PendingBefore != tc.before || d.PendingAfter != tc.now {
				t.Fatalf("launches %v declines %v refuse %s suppress %v pending %d→%d; want %v %v %s %v %d→%d",
					got, d.Declines, d.Refuse, d.Suppress, d.PendingBefore, d.PendingAfter,
					tc.perOffer, tc.declines, tc.refuse, tc.suppress, tc.before, tc.now)
			}
		})
	}
}

// TestCycleDrop: launches the framework could not carry out leave the
// decision; their offers are declined briefly and nothing is suppressed,
// and once forgotten the instances are pending again.
func TestCycleDrop(t *testing.T) {
	e := New(nil)
	e.AddJob(arrayOf("j", 3, 1))
	d := e.Cycle([]Offer{offer("a", 1, 100), offer("b", 2, 100)}, testCycle)
	if !d.Suppress || d.Refuse != testCycle.Idle || d.Count() != 3 {
		t.Fatalf("before Drop: suppress %v refuse %s launches %d", d.Suppress, d.Refuse, d.Count())
	}
	dropped := d.Drop(func(l *Launch) bool { return l.Offer == 1 || l.Attempt.Index == 0 })
	if len(dropped) != 3 || d.Count() != 0 || !slices.Equal(d.Declines, []int{0, 1}) || d.Suppress || d.Refuse != testCycle.Refuse || d.PendingAfter != 3 {
		t.Fatalf("after Drop: dropped %d left %d declines %v suppress %v refuse %s pending %d", len(dropped), d.Count(), d.Declines, d.Suppress, d.Refuse, d.PendingAfter)
	}
	e.Forget(dropped)
	if n := e.PendingCount(); n != 3 {
		t.Fatalf("pending after Forget = %d, want 3", n)
	}
}

// TestCyclePreempts: the cycle's preemption is decided with it: victims
// are marked for requeue and returned to kill.
func TestCyclePreempts(t *testing.T) {
	m := &planAll{blocked: true}
	e := New(m)
	e.AddJob(arrayOf("low", 2, 1))
	d := e.Cycle([]Offer{offer("a", 2, 100)}, testCycle)
	if len(d.Preempt) != 0 {
		t.Fatalf("launching attempts preempted: %v", d.Preempt)
	}
	for _, ls := range d.Launches {
		for _, l := range ls {
			apply(t, e, l.Attempt.TaskID(), mesos.TASK_RUNNING)
		}
	}
	d = e.Cycle(nil, testCycle)
	if len(d.Preempt) != 2 || d.Preemption.Job != "big" {
		t.Fatalf("preempt = %v (%+v), want both running instances", d.Preempt, d.Preemption)
	}
	o, _ := apply(t, e, "low.t.0.0", mesos.TASK_KILLED)
	if o.Attempt.State != job.AttemptLost || o.Attempt.Reason != "preempted" {
		t.Fatalf("victim ended %s (%s), want lost (preempted)", o.Attempt.State, o.Attempt.Reason)
	}
}

// TestCyclePreemptsOnlyLowerPriority: work blocked at the same priority as
// the running instances gathers no victims and plans nothing.
func TestCyclePreemptsOnlyLowerPriority(t *testing.T) {
	m := &planAll{blocked: true, above: 5}
	e := New(m)
	j := arrayOf("same", 2, 1)
	j.Spec.Priority = 5
	e.AddJob(j)
	d := e.Cycle([]Offer{offer("a", 2, 100)}, testCycle)
	for _, ls := range d.Launches {
		for _, l := range ls {
			apply(t, e, l.Attempt.TaskID(), mesos.TASK_RUNNING)
		}
	}
	d = e.Cycle(nil, testCycle)
	if len(d.Preempt) != 0 || m.seen != nil {
		t.Fatalf("equal priority: preempt %v, victims offered %v", d.Preempt, m.seen)
	}
	m.above = 6
	if d = e.Cycle(nil, testCycle); len(d.Preempt) != 2 {
		t.Fatalf("higher priority blocked: preempt %v, want both", d.Preempt)
	}
}
