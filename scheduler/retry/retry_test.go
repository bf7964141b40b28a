package retry

import (
	"encoding/json"
	mrand "math/rand"
	"math/rand/v2"
	"syscall"
	"testing"
	"testing/quick"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

func TestBackoffAfter(t *testing.T) {
	b := Backoff{Delay: Duration(time.Second), Factor: 2, Max: Duration(10 * time.Second)}
	for _, c := range []struct {
		n    int
		want time.Duration
	}{
		{0, 0}, {-3, 0}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second},
		{4, 8 * time.Second}, {5, 10 * time.Second}, {64, 10 * time.Second}, {1 << 30, 10 * time.Second},
	} {
		if got := b.After(c.n); got != c.want {
			t.Errorf("After(%d) = %v, want %v", c.n, got, c.want)
		}
	}
	noMax := Backoff{Delay: Duration(time.Second), Factor: 10}
	if got := noMax.After(1000); got != time.Duration(1<<63-1) {
		t.Errorf("uncapped After(1000) = %v, want saturation at MaxInt64", got)
	}
	flat := Backoff{Delay: Duration(3 * time.Second), Factor: 1}
	if got := flat.After(50); got != 3*time.Second {
		t.Errorf("factor 1 After(50) = %v", got)
	}
}

// Property: the delay starts at Delay, never decreases, never exceeds Max.
func TestBackoffProperties(t *testing.T) {
	f := func(delayMs uint32, factor10 uint8, maxMs uint32, n uint16) bool {
		b := Backoff{Delay: Duration(time.Duration(delayMs) * time.Millisecond), Factor: 1 + float64(factor10)/10,
			Max: Duration(time.Duration(maxMs) * time.Millisecond)}
		if b.Max < b.Delay {
			b.Max = b.Delay
		}
		k := int(n%200) + 1
		a, c := b.After(k), b.After(k+1)
		if a < 0 || c < a || (b.Max > 0 && c > time.Duration(b.Max)) {
			return false
		}
		return b.After(1) == time.Duration(b.Delay)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000, Rand: mrand.New(mrand.NewSource(1))}); err != nil {
		t.Fatal(err)
	}
}

func TestValidateFieldPaths(t *testing.T) {
	for _, c := range []struct {
		p     Policy
		field string
	}{
		{Policy{Retries: -1, Backoff: DefaultBackoff}, "tasks[1].retries"},
		{Policy{Backoff: Backoff{Delay: Duration(time.Second), Factor: 0.5}}, "tasks[1].retries.backoff.factor"},
		{Policy{Backoff: Backoff{Delay: -1, Factor: 1}}, "tasks[1].retries.backoff.delay"},
		{Policy{Backoff: Backoff{Delay: Duration(time.Minute), Factor: 2, Max: Duration(time.Second)}}, "tasks[1].retries.backoff.max"},
		{Policy{Backoff: DefaultBackoff, OnFailure: FailurePolicy{Rules: []Rule{{Action: "explode", ExitCodes: []int{1}}}}}, "tasks[1].retries.onFailure.rules[0].action"},
		{Policy{Backoff: DefaultBackoff, OnFailure: FailurePolicy{Rules: []Rule{{Action: Ignore}}}}, "tasks[1].retries.onFailure.rules[0]"},
		{Policy{Backoff: DefaultBackoff, OnFailure: FailurePolicy{Rules: []Rule{{Action: Ignore, ExitCodes: []int{3, 0}}}}}, "tasks[1].retries.onFailure.rules[0].exitCodes[1]"},
		{Policy{Backoff: DefaultBackoff, OnFailure: FailurePolicy{Rules: []Rule{{Action: Ignore, Signals: []string{"SIGTERM", "SIGNOPE"}}}}}, "tasks[1].retries.onFailure.rules[0].signals[1]"},
		{Policy{Backoff: DefaultBackoff, OnFailure: FailurePolicy{Rules: []Rule{{Action: Ignore, NotIn: true, Signals: []string{"9"}}}}}, "tasks[1].retries.onFailure.rules[0].notIn"},
		{Policy{Backoff: DefaultBackoff, Restart: "Sometimes"}, "tasks[1].restart"},
	} {
		err := c.p.Validate("tasks[1]")
		fe, ok := spec.AsFieldError(err)
		if !ok || fe.Field != c.field {
			t.Errorf("Validate(%+v) = %v, want a field error on %s", c.p, err, c.field)
		}
	}
	good := Policy{Retries: 3, Backoff: DefaultBackoff, Restart: OnFailure, OnFailure: FailurePolicy{Rules: []Rule{
		{Action: FailJob, ExitCodes: []int{2}}, {Action: Retry, Signals: []string{"TERM", "9"}}, {Action: Ignore, ExitCodes: []int{1}, NotIn: true}}}}
	if err := good.Validate("tasks[0]"); err != nil {
		t.Fatal(err)
	}
}

func TestDurationJSON(t *testing.T) {
	var b Backoff
	if err := json.Unmarshal([]byte(`{"delay":"1m30s","factor":1.5,"max":600}`), &b); err != nil {
		t.Fatal(err)
	}
	if b.Delay != Duration(90*time.Second) || b.Max != Duration(10*time.Minute) {
		t.Fatalf("got %+v", b)
	}
	out, _ := json.Marshal(b)
	if string(out) != `{"delay":"1m30s","factor":1.5,"max":"10m0s"}` {
		t.Fatalf("marshal: %s", out)
	}
	if err := json.Unmarshal([]byte(`{"delay":"soon"}`), &b); err == nil {
		t.Fatal("bad duration accepted")
	}
}

func TestDecide(t *testing.T) {
	bo := Backoff{Delay: Duration(time.Second), Factor: 2, Max: Duration(time.Minute)}
	rules := FailurePolicy{Rules: []Rule{
		{Action: FailJob, ExitCodes: []int{2}},
		{Action: Retry, ExitCodes: []int{75}, Signals: []string{"SIGTERM"}},
		{Action: Ignore, ExitCodes: []int{3}},
		{Action: Count, Signals: []string{"KILL"}},
	}}
	never := Policy{Retries: 2, Backoff: bo, OnFailure: rules}
	onFail := never
	onFail.Restart = OnFailure
	always := never
	always.Restart = Always
	for _, c := range []struct {
		name string
		p    Policy
		o    Outcome
		h    History
		want Decision
	}{
		{"success", never, Outcome{Kind: Succeeded}, History{}, Decision{Verdict: Done, Rule: -1}},
		{"first failure counts", never, Outcome{Kind: Failed, ExitCode: 1}, History{}, Decision{Verdict: Again, Consumed: true, Delay: time.Second, Rule: -1}},
		{"second failure backs off", never, Outcome{Kind: Failed, ExitCode: 1}, History{Counted: 1, Consecutive: 1}, Decision{Verdict: Again, Consumed: true, Delay: 2 * time.Second, Rule: -1}},
		{"budget exhausted", never, Outcome{Kind: Failed, ExitCode: 1}, History{Counted: 2, Consecutive: 2}, Decision{Verdict: Fail, Consumed: true, Rule: -1}},
		{"zero retries fail at once", Policy{Backoff: bo}, Outcome{Kind: Failed, ExitCode: 1}, History{}, Decision{Verdict: Fail, Consumed: true, Rule: -1}},
		{"exit 2 fails the job", never, Outcome{Kind: Failed, ExitCode: 2}, History{}, Decision{Verdict: FailTheJob, Rule: 0}},
		{"exit 75 retried free", never, Outcome{Kind: Failed, ExitCode: 75}, History{Counted: 2, Consecutive: 4}, Decision{Verdict: Again, Delay: 16 * time.Second, Rule: 1}},
		{"SIGTERM retried free", never, Outcome{Kind: Signaled, Signal: syscall.SIGTERM}, History{Counted: 2}, Decision{Verdict: Again, Delay: time.Second, Rule: 1}},
		{"exit 3 ignored", never, Outcome{Kind: Failed, ExitCode: 3}, History{}, Decision{Verdict: Done, Ignored: true, Rule: 2}},
		{"SIGKILL counted by rule", never, Outcome{Kind: Signaled, Signal: syscall.SIGKILL}, History{}, Decision{Verdict: Again, Consumed: true, Delay: time.Second, Rule: 3}},
		{"unmatched signal counts", never, Outcome{Kind: Signaled, Signal: syscall.SIGSEGV}, History{Counted: 2}, Decision{Verdict: Fail, Consumed: true, Rule: -1}},
		{"timeout counts", never, Outcome{Kind: TimedOut}, History{}, Decision{Verdict: Again, Consumed: true, Delay: time.Second, Rule: -1}},
		{"lost is free", never, Outcome{Kind: Lost}, History{Counted: 2, Consecutive: 2}, Decision{Verdict: Again, Rule: -1}},
		{"preempted is free", never, Outcome{Kind: Preempted}, History{Counted: 2}, Decision{Verdict: Again, Rule: -1}},
		{"reclaimed is free", never, Outcome{Kind: Reclaimed}, History{Counted: 2}, Decision{Verdict: Again, Rule: -1}},
		{"killed stops", never, Outcome{Kind: Killed}, History{}, Decision{Verdict: Stop, Rule: -1}},
		{"OnFailure restarts in place", onFail, Outcome{Kind: Failed, ExitCode: 1}, History{}, Decision{Verdict: Again, Consumed: true, Delay: time.Second, SameAgent: true, Rule: -1}},
		{"OnFailure lost moves elsewhere", onFail, Outcome{Kind: Lost}, History{}, Decision{Verdict: Again, Rule: -1}},
		{"Always restarts a success", always, Outcome{Kind: Succeeded}, History{}, Decision{Verdict: Again, Delay: time.Second, Rule: -1}},
		{"Always never exhausts", always, Outcome{Kind: Failed, ExitCode: 1}, History{Counted: 99, Consecutive: 10}, Decision{Verdict: Again, Delay: time.Minute, Rule: -1}},
		{"Always still honours failJob", always, Outcome{Kind: Failed, ExitCode: 2}, History{}, Decision{Verdict: FailTheJob, Rule: 0}},
		{"Always killed stops", always, Outcome{Kind: Killed}, History{}, Decision{Verdict: Stop, Rule: -1}},
	} {
		got := c.p.Decide(c.o, c.h)
		got.Reason = ""
		if got != c.want {
			t.Errorf("%s: Decide = %+v, want %+v", c.name, got, c.want)
		}
	}
}

// Property: whatever sequence of outcomes an instance sees, infrastructure
// outcomes never consume retries, the number of counted failures never
// exceeds Retries+1, and an instance is failed exactly when the counted
// failures exceed the budget.
func TestDecideBudgetProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	kinds := []Kind{Failed, Signaled, TimedOut, Lost, Preempted, Reclaimed, Succeeded}
	for trial := 0; trial < 20000; trial++ {
		p := Policy{Retries: r.IntN(5), Backoff: DefaultBackoff}
		if r.IntN(2) == 0 {
			p.OnFailure.Rules = []Rule{{Action: Retry, ExitCodes: []int{75}}}
		}
		var h History
		var seen []Outcome
		for step := 0; step < 30; step++ {
			o := Outcome{Kind: kinds[r.IntN(len(kinds))], ExitCode: 1 + r.IntN(100), Signal: syscall.Signal(1 + r.IntN(15))}
			if o.Kind == Failed && r.IntN(4) == 0 {
				o.ExitCode = 75
			}
			d := p.Decide(o, h)
			seen = append(seen, o)
			if rh, rd := p.Replay(seen); rd != d || rh != h.After(o, d) {
				t.Fatalf("Replay(%v) = %+v %+v, incremental %+v %+v", seen, rh, rd, h.After(o, d), d)
			}
			if o.Kind.Infrastructure() && (d.Consumed || d.Verdict != Again || d.Delay != 0) {
				t.Fatalf("infrastructure outcome %v: %+v", o.Kind, d)
			}
			nh := h.After(o, d)
			if d.Consumed {
				h.Counted++
			}
			if h.Counted != nh.Counted {
				t.Fatalf("After counted %d, want %d", nh.Counted, h.Counted)
			}
			if h.Counted > p.Retries+1 {
				t.Fatalf("counted %d > retries+1 (%d)", h.Counted, p.Retries+1)
			}
			if (d.Verdict == Fail) != (h.Counted > p.Retries) {
				t.Fatalf("verdict %v with counted %d and retries %d", d.Verdict, h.Counted, p.Retries)
			}
			if d.Verdict != Again {
				break
			}
			switch {
			case o.Kind == Succeeded:
				h.Consecutive = 0
			case !o.Kind.Infrastructure():
				h.Consecutive++
			}
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"SIGKILL": 9, "kill": 9, "TERM": 15, "15": 15, "sigsegv": 11} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "65", "SIGFOO"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) accepted", in)
		}
	}
}

func TestPolicyOfSpecChecked(t *testing.T) {
	_, err := spec.Parse([]byte("name: a\ntasks: [{name: b, command: x, onFailure: [{action: explode, exitCodes: [1]}]}]"))
	fe, ok := spec.AsFieldError(err)
	if !ok || fe.Field != "tasks[0].retries.onFailure.rules[0].action" {
		t.Fatalf("got %v", err)
	}
	s, err := spec.Parse([]byte("name: a\ntasks: [{name: b, command: x, restart: Always, retries: {limit: 1, onFailure: [{action: ignore, exitCodes: [3]}]}}]"))
	if err != nil {
		t.Fatal(err)
	}
	p := PolicyOf(&s.Tasks[0])
	if p.Restart != Always || p.Backoff != DefaultBackoff || p.Retries != 1 || p.OnFailure.Rules[0].Action != Ignore {
		t.Fatalf("policy %+v", p)
	}
}
