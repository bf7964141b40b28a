package events

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func status(state job.State, tasks ...job.State) job.Status {
	st := job.Status{ID: "etl-1", Name: "etl", State: state}
	for i, s := range tasks {
		st.Tasks = append(st.Tasks, job.TaskStatus{Name: fmt.Sprint("t", i), State: s})
	}
	return st
}

// types renders events as "type[task](previous)" for comparison.
func types(evs []Event) string {
	var out []string
	for _, e := range evs {
		s := e.Type
		if e.Task != "" {
			s += "[" + e.Task + "]"
		}
		if e.Previous != "" {
			s += "(" + string(e.Previous) + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestDiff(t *testing.T) {
	P, R, S, F, K := job.Pending, job.Running, job.Succeeded, job.Failed, job.Killed
	ptr := func(s job.Status) *job.Status { return &s }
	for _, c := range []struct {
		name string
		prev *job.Status
		cur  job.Status
		want string
	}{
		{"new pending job", nil, status(P, P, P), "job.submitted"},
		{"new job already running", nil, status(R, R, P), "job.submitted task.running[t0](pending) job.running(pending)"},
		{"nothing changed", ptr(status(R, R, P)), status(R, R, P), ""},
		{"first task starts", ptr(status(P, P, P)), status(R, R, P), "task.running[t0](pending) job.running(pending)"},
		{"tasks before the job", ptr(status(R, S, R)), status(S, S, S), "task.succeeded[t1](running) job.succeeded(running)"},
		{"a failure", ptr(status(R, R, P)), status(F, F, P), "task.failed[t0](running) job.failed(running)"},
		{"a kill ends both", ptr(status(R, R, R)), status(K, K, K), "task.killed[t0](running) task.killed[t1](running) job.killed(running)"},
		{"a retry runs again", ptr(status(F, F)), status(R, R), "task.running[t0](failed) job.running(failed)"},
		{"a task the old status lacked", ptr(status(R, R)), status(R, R, R), "task.running[t1](pending)"},
		{"suspended", ptr(status(R, R)), status(job.Suspended, P), "task.pending[t0](running) job.suspended(running)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := Diff(c.prev, c.cur)
			if got := types(evs); got != c.want {
				t.Fatalf("Diff = %q, want %q", got, c.want)
			}
			for _, e := range evs {
				if e.Job != "etl-1" || e.Name != "etl" || (e.Task != "" && e.Counts == nil) {
					t.Fatalf("event lacks job, name or counts: %+v", e)
				}
			}
		})
	}
}

func TestLog(t *testing.T) {
	l := NewLog(3)
	if evs, missed, _ := l.Since(0, 10); len(evs) != 0 || missed != 0 {
		t.Fatalf("empty log: %v %d", evs, missed)
	}
	_, _, changed := l.Since(0, 10)
	l.Append(Event{Type: "a"}, Event{Type: "b"})
	select {
	case <-changed:
	default:
		t.Fatal("Append did not wake readers")
	}
	evs, missed, _ := l.Since(0, 10)
	if types(evs) != "a b" || missed != 0 || evs[0].Seq != 1 || evs[1].Seq != 2 || evs[0].Time.IsZero() || evs[0].ID == evs[1].ID {
		t.Fatalf("Since(0) = %+v, %d", evs, missed)
	}
	l.Append(Event{Type: "c"}, Event{Type: "d"}, Event{Type: "e"})
	// The ring keeps 3: a and b are gone.
	evs, missed, _ = l.Since(0, 10)
	if types(evs) != "c d e" || missed != 2 {
		t.Fatalf("Since(0) after eviction = %q, missed %d; want c d e, 2", types(evs), missed)
	}
	if evs, missed, _ = l.Since(3, 1); types(evs) != "d" || missed != 0 {
		t.Fatalf("Since(3, max 1) = %q, %d", types(evs), missed)
	}
	if evs, _, _ = l.Since(5, 10); len(evs) != 0 || l.Last() != 5 {
		t.Fatalf("Since(last) = %v, Last %d", evs, l.Last())
	}
}

func TestWants(t *testing.T) {
	for _, c := range []struct {
		events []string
		typ    string
		want   bool
	}{
		{nil, "task.running", true},
		{[]string{"*"}, "job.failed", true},
		{[]string{"job.*"}, "job.failed", true},
		{[]string{"job.*"}, "task.failed", false},
		{[]string{"task.failed"}, "task.failed", true},
		{[]string{"task.failed"}, "task.failed2", false},
		{[]string{"job.*", "task.failed"}, "task.running", false},
	} {
		if got := (Webhook{Events: c.events}).Wants(c.typ); got != c.want {
			t.Errorf("%v wants %s = %v, want %v", c.events, c.typ, got, c.want)
		}
	}
}

func TestInstanceFailures(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	exit := 3
	fail := func(task string, index, attempt int, ended time.Duration) job.Attempt {
		return job.Attempt{Job: "etl-1", Task: task, Index: index, Attempt: attempt, State: job.AttemptFailed, ExitCode: &exit, Ended: t0.Add(ended), Message: "boom"}
	}
	st := status(job.Running, job.Running)
	as := []job.Attempt{
		fail("a", 2, 0, 2*time.Second),
		fail("a", 1, 0, time.Second),
		{Job: "etl-1", Task: "a", Index: 0, State: job.AttemptSucceeded, Ended: t0.Add(3 * time.Second)},
		{Job: "etl-1", Task: "a", Index: 3, State: job.AttemptKilled, Ended: t0.Add(4 * time.Second)},
	}
	evs, mark := InstanceFailures(st, as, time.Time{})
	if len(evs) != 2 || *evs[0].Index != 1 || *evs[1].Index != 2 || *evs[0].ExitCode != 3 || evs[0].Type != TypeInstanceFailed || !mark.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("first read: %+v, mark %v", evs, mark)
	}
	// Nothing new: nothing announced again.
	if evs, mark2 := InstanceFailures(st, as, mark); len(evs) != 0 || !mark2.Equal(mark) {
		t.Fatalf("second read: %+v, %v", evs, mark2)
	}
	// A retry that failed later is new.
	as = append(as, fail("a", 1, 1, 5*time.Second))
	if evs, _ := InstanceFailures(st, as, mark); len(evs) != 1 || *evs[0].Attempt != 1 {
		t.Fatalf("after a retry: %+v", evs)
	}
	// Bounded: many failures at once give MaxInstanceFailures events, the
	// last counting the rest; a long message is cut.
	var many []job.Attempt
	for i := range MaxInstanceFailures + 5 {
		a := fail("b", i, 0, time.Duration(i)*time.Millisecond)
		a.Message = strings.Repeat("x", MaxMessageBytes+100)
		many = append(many, a)
	}
	evs, _ = InstanceFailures(st, many, time.Time{})
	if len(evs) != MaxInstanceFailures || evs[len(evs)-1].Missed != 5 || len(evs[0].Message) != MaxMessageBytes {
		t.Fatalf("bounded: %d events, missed %d, message %d bytes", len(evs), evs[len(evs)-1].Missed, len(evs[0].Message))
	}
}
