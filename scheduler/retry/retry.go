package retry

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
)

// Duration is a time.Duration that reads and writes as a Go duration string
// ("10s", "1m30s") in JSON and YAML; a bare number is read as seconds.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("parse duration: %w", err)
	}
	got, err := ParseDuration(v)
	if err != nil {
		return err
	}
	*d = Duration(got)
	return nil
}

// ParseDuration reads a duration from a decoded YAML/JSON value: a Go
// duration string ("90s", "1m30s") or a number of seconds.
func ParseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("parse duration %q: %w", x, err)
		}
		return d, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("parse duration: %v seconds out of range", x)
		}
		return time.Duration(x * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("parse duration: want a string like \"10s\" or a number of seconds, got %T", v)
}

// Backoff is the wait before retry n: Delay·Factor^(n-1), capped at Max.
type Backoff struct {
	Delay  Duration `json:"delay"`
	Factor float64  `json:"factor"`
	Max    Duration `json:"max"`
}

// DefaultBackoff is used when a task gives none: 10s, doubling, at most 5m.
var DefaultBackoff = Backoff{Delay: Duration(10 * time.Second), Factor: 2, Max: Duration(5 * time.Minute)}

// Validate checks b; path is the backoff's field path (e.g.
// tasks[1].retries.backoff) and prefixes the field in the error.
func (b Backoff) Validate(path string) error {
	switch {
	case b.Delay < 0:
		return &fielderr.FieldError{Field: path + ".delay", Msg: fmt.Sprintf("must be >= 0, got %v", time.Duration(b.Delay))}
	case math.IsNaN(b.Factor) || math.IsInf(b.Factor, 0) || b.Factor < 1:
		return &fielderr.FieldError{Field: path + ".factor", Msg: fmt.Sprintf("must be >= 1, got %v", b.Factor)}
	case b.Max < 0:
		return &fielderr.FieldError{Field: path + ".max", Msg: fmt.Sprintf("must be >= 0, got %v", time.Duration(b.Max))}
	case b.Max != 0 && b.Max < b.Delay:
		return &fielderr.FieldError{Field: path + ".max", Msg: fmt.Sprintf("must be >= delay (%v), got %v", time.Duration(b.Delay), time.Duration(b.Max))}
	}
	return nil
}

// After is the wait before retry n (n >= 1 is the number of consecutive
// failures so far). It never overflows, never decreases as n grows, and is
// at most Max when Max is set. n < 1 waits nothing.
func (b Backoff) After(n int) time.Duration {
	if n < 1 || b.Delay <= 0 {
		return 0
	}
	f := b.Factor
	if f < 1 || math.IsNaN(f) {
		f = 1
	}
	limit := float64(math.MaxInt64)
	if b.Max > 0 {
		limit = float64(b.Max)
	}
	d := float64(b.Delay) * math.Pow(f, float64(n-1))
	if d >= limit || math.IsInf(d, 0) || math.IsNaN(d) {
		if b.Max > 0 {
			return time.Duration(b.Max)
		}
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// Action is what a failure policy rule does with a matching failure.
type Action string

// Actions of a failure policy.
const (
	// Count (the default for an unmatched failure) consumes one retry; the
	// instance runs again while the budget lasts, then fails.
	Count Action = "count"
	// Retry runs the instance again without consuming the budget (e.g. exit
	// 75, EX_TEMPFAIL: the input was not ready).
	Retry Action = "retry"
	// Ignore accepts the failure as the instance's end: it is not retried
	// and does not fail the task.
	Ignore Action = "ignore"
	// FailJob fails the instance and the whole job at once, whatever the
	// budget (e.g. exit 2: the input is invalid, retrying cannot help).
	FailJob Action = "failJob"
)

var actions = []Action{Count, Retry, Ignore, FailJob}

// Rule matches a failed attempt by exit code or terminating signal. A rule
// with both lists matches either.
type Rule struct {
	Action Action `json:"action"`
	// ExitCodes match a non-zero exit status. With NotIn the rule matches
	// every non-zero exit code not listed.
	ExitCodes []int `json:"exitCodes,omitempty"`
	NotIn     bool  `json:"notIn,omitempty"`
	// Signals match an attempt killed by a signal: names ("SIGKILL", "KILL")
	// or numbers ("9").
	Signals []string `json:"signals,omitempty"`
}

// FailurePolicy maps failures to actions; the first matching rule wins and
// an unmatched failure counts (Count).
type FailurePolicy struct {
	Rules []Rule `json:"rules,omitempty"`
}

// Validate checks the rules; path is the policy's field path (e.g.
// tasks[0].retries.onFailure).
func (p FailurePolicy) Validate(path string) error {
	for i, r := range p.Rules {
		rp := fmt.Sprintf("%s.rules[%d]", path, i)
		if !slices.Contains(actions, r.Action) {
			return &fielderr.FieldError{Field: rp + ".action", Msg: fmt.Sprintf("must be one of count, retry, ignore, failJob, got %q", r.Action)}
		}
		if len(r.ExitCodes) == 0 && len(r.Signals) == 0 {
			return &fielderr.FieldError{Field: rp, Msg: "give exitCodes or signals"}
		}
		if r.NotIn && len(r.ExitCodes) == 0 {
			return &fielderr.FieldError{Field: rp + ".notIn", Msg: "needs exitCodes"}
		}
		for j, c := range r.ExitCodes {
			if c <= 0 || c > 255 {
				return &fielderr.FieldError{Field: fmt.Sprintf("%s.exitCodes[%d]", rp, j), Msg: fmt.Sprintf("must be a failing exit status 1..255, got %d", c)}
			}
		}
		for j, s := range r.Signals {
			if _, err := ParseSignal(s); err != nil {
				return &fielderr.FieldError{Field: fmt.Sprintf("%s.signals[%d]", rp, j), Msg: err.Error()}
			}
		}
	}
	return nil
}

// ParseSignal reads a signal name ("SIGTERM", "term") or number ("15").
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal number %d out of range 1..64", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig, ok := signals[name]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

var signals = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT, "SIGILL": syscall.SIGILL,
	"SIGTRAP": syscall.SIGTRAP, "SIGABRT": syscall.SIGABRT, "SIGBUS": syscall.SIGBUS, "SIGFPE": syscall.SIGFPE,
	"SIGKILL": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1, "SIGSEGV": syscall.SIGSEGV, "SIGUSR2": syscall.SIGUSR2,
	"SIGPIPE": syscall.SIGPIPE, "SIGALRM": syscall.SIGALRM, "SIGTERM": syscall.SIGTERM, "SIGXCPU": syscall.SIGXCPU,
	"SIGXFSZ": syscall.SIGXFSZ, "SIGSYS": syscall.SIGSYS,
}

// Match returns the action for a failed attempt, and the index of the rule
// that matched (-1 when none did and the failure counts).
func (p FailurePolicy) Match(o Outcome) (Action, int) {
	for i, r := range p.Rules {
		if o.Kind == Signaled {
			for _, s := range r.Signals {
				if sig, err := ParseSignal(s); err == nil && sig == o.Signal {
					return r.Action, i
				}
			}
		}
		if o.Kind == Failed && !o.NoExit && len(r.ExitCodes) > 0 && slices.Contains(r.ExitCodes, o.ExitCode) != r.NotIn {
			return r.Action, i
		}
	}
	return Count, -1
}

// Restart is the restart policy of a task's instances.
type Restart string

// Restart policies.
const (
	// Never (the default): a failed instance is retried as a new attempt on
	// whatever agent fits; a succeeded one is done.
	Never Restart = "Never"
	// OnFailure: like Never, but the retry prefers the same agent (restart
	// in place, keeping the sandbox warm).
	OnFailure Restart = "OnFailure"
	// Always: the instance is a long-running worker; it is started again
	// whenever it ends, succeeded or failed, with backoff, never consuming
	// retries, until the job is killed or a FailJob rule matches.
	Always Restart = "Always"
)

// ParseRestart reads a restart policy; "" is Never.
func ParseRestart(path, s string) (Restart, error) {
	switch Restart(s) {
	case "":
		return Never, nil
	case Never, OnFailure, Always:
		return Restart(s), nil
	}
	return "", &fielderr.FieldError{Field: path, Msg: fmt.Sprintf("must be Never, OnFailure or Always, got %q", s)}
}

// Kind classifies how an attempt ended.
type Kind int

// Attempt outcomes.
const (
	Succeeded    Kind = iota // exit status 0
	Failed                   // non-zero exit status (ExitCode)
	Signaled                 // killed by a signal it did not expect (Signal)
	TimedOut                 // killed by Gleaner: the attempt's timeout passed
	Killed                   // killed on request (job kill, Replace, suspend)
	Lost                     // agent or task lost, gone, unreachable, dropped
	Preempted                // killed to make room for higher-priority work
	Reclaimed                // the monitor reclaimed the agent's resources
	LaunchFailed             // the command never started (bundle fetch, exec, invalid task): Reason
	Suspended                // killed because the job was suspended on request
)

var kindNames = [...]string{"succeeded", "failed", "signaled", "timedOut", "killed", "lost", "preempted", "reclaimed", "launchFailed", "suspended"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Infrastructure reports whether the attempt ended for reasons outside the
// task (lost, preempted, reclaimed): such attempts never consume retries.
func (k Kind) Infrastructure() bool { return k == Lost || k == Preempted || k == Reclaimed }

// Outcome is how one attempt ended.
type Outcome struct {
	Kind     Kind
	ExitCode int            // for Failed
	Signal   syscall.Signal // for Signaled
	// NoExit marks a Failed attempt that reported no exit status (ExitCode
	// is then meaningless and matches no exit-code rule).
	NoExit bool
	// Reason is the Mesos reason of a LaunchFailed or NoExit attempt.
	Reason string
}

// Policy is a task's retry policy.
type Policy struct {
	// Retries is the budget of counted failures allowed after the first
	// attempt (the spec's retries, default 3).
	Retries   int           `json:"retries"`
	Backoff   Backoff       `json:"backoff"`
	OnFailure FailurePolicy `json:"onFailure"`
	Restart   Restart       `json:"restart,omitempty"`
}

// Validate checks p; path is the task's field path (tasks[1]).
func (p Policy) Validate(path string) error {
	if p.Retries < 0 {
		return &fielderr.FieldError{Field: path + ".retries", Msg: fmt.Sprintf("must be >= 0, got %d", p.Retries)}
	}
	if err := p.Backoff.Validate(path + ".retries.backoff"); err != nil {
		return err
	}
	if err := p.OnFailure.Validate(path + ".retries.onFailure"); err != nil {
		return err
	}
	if _, err := ParseRestart(path+".restart", string(p.Restart)); err != nil {
		return err
	}
	return nil
}

// History is what Decide needs to know of an instance's earlier attempts,
// not counting the one being decided.
type History struct {
	// Counted is the number of earlier attempts that consumed a retry.
	Counted int
	// Consecutive is the number of failures in a row just before this
	// attempt (any kind but lost/preempted/reclaimed; reset by a success).
	// It drives the backoff.
	Consecutive int
}

// Verdict is what happens to the instance after an attempt.
type Verdict string

// Verdicts.
const (
	// Done: the instance succeeded (or its failure was ignored; see
	// Decision.Ignored).
	Done Verdict = "done"
	// Again: start a new attempt after Decision.Delay.
	Again Verdict = "again"
	// Fail: the instance failed (budget exhausted).
	Fail Verdict = "fail"
	// FailTheJob: the instance failed and the whole job fails now.
	FailTheJob Verdict = "failJob"
	// Stop: the instance was killed on request and stays killed.
	Stop Verdict = "stop"
)

// Decision is the outcome of Decide.
type Decision struct {
	Verdict Verdict
	// Consumed: this attempt consumed one retry (History.Counted+1 from
	// now on).
	Consumed bool
	// Delay before the next attempt (Again only).
	Delay time.Duration
	// SameAgent: prefer the agent of the ended attempt (OnFailure).
	SameAgent bool
	// Ignored: Done by an Ignore rule, not by success.
	Ignored bool
	// Rule is the index of the failure-policy rule that matched, or -1.
	Rule int
	// Reason explains the decision in a few words, for the attempt record.
	Reason string
}

// Decide says what to do after an attempt ended with o. It is pure.
func (p Policy) Decide(o Outcome, h History) Decision {
	d := Decision{Rule: -1}
	switch {
	case o.Kind == Killed:
		d.Verdict, d.Reason = Stop, "killed on request"
		return d
	case o.Kind == Suspended:
		// Runs again once the job is resumed; the suspension is not the
		// task's failure.
		d.Verdict, d.Reason = Again, "suspended on request: not counted"
		return d
	case o.Kind.Infrastructure():
		// Not the task's fault: run again at once, elsewhere, for free.
		d.Verdict, d.Reason = Again, o.Kind.String()+": not counted"
		return d
	case o.Kind == Succeeded && p.Restart != Always:
		d.Verdict, d.Reason = Done, "succeeded"
		return d
	case o.Kind == Succeeded:
		// A long-running worker exited cleanly: start it again after the
		// base delay, never growing.
		d.Verdict, d.Delay, d.Reason = Again, p.Backoff.After(1), "restart Always"
		return d
	}
	action := Count
	if o.Kind == Failed || o.Kind == Signaled {
		action, d.Rule = p.OnFailure.Match(o)
	}
	fails := h.Consecutive + 1
	switch action {
	case FailJob:
		d.Verdict, d.Reason = FailTheJob, fmt.Sprintf("%s: failure policy rule %d fails the job", describe(o), d.Rule)
	case Ignore:
		d.Verdict, d.Ignored, d.Reason = Done, true, fmt.Sprintf("%s: ignored by failure policy rule %d", describe(o), d.Rule)
	case Retry:
		d.Verdict, d.Delay, d.Reason = Again, p.Backoff.After(fails), fmt.Sprintf("%s: retried, not counted (rule %d)", describe(o), d.Rule)
		d.SameAgent = p.Restart == OnFailure
	default:
		if p.Restart == Always {
			d.Verdict, d.Delay, d.Reason = Again, p.Backoff.After(fails), describe(o)+": restart Always"
			return d
		}
		d.Consumed = true
		if h.Counted+1 > p.Retries {
			d.Verdict, d.Reason = Fail, fmt.Sprintf("%s: %d retries used", describe(o), p.Retries)
			return d
		}
		d.Verdict, d.Delay = Again, p.Backoff.After(fails)
		d.SameAgent = p.Restart == OnFailure
		d.Reason = fmt.Sprintf("%s: retry %d of %d", describe(o), h.Counted+1, p.Retries)
	}
	return d
}

func describe(o Outcome) string {
	why := func(prefix string) string {
		if o.Reason == "" {
			return prefix
		}
		return prefix + " (" + o.Reason + ")"
	}
	switch o.Kind {
	case Failed:
		if o.NoExit {
			return why("failed without an exit status")
		}
		return fmt.Sprintf("exit %d", o.ExitCode)
	case LaunchFailed:
		return why("launch failed")
	case Signaled:
		return "signal " + o.Signal.String()
	}
	return o.Kind.String()
}

// Replay derives an instance's history from its ended attempts' outcomes,
// oldest first, deciding each in turn, and returns the history after them
// and the decision on the last (Decision{Verdict: Again} with no delay
// when there are none). State is thus derived from the attempts, never
// stored twice.
func (p Policy) Replay(outcomes []Outcome) (History, Decision) {
	var h History
	d := Decision{Verdict: Again, Rule: -1, Reason: "no attempt yet"}
	for _, o := range outcomes {
		d = p.Decide(o, h)
		h = h.After(o, d)
	}
	return h, d
}

// After returns the history once an attempt with outcome o was decided d.
func (h History) After(o Outcome, d Decision) History {
	if d.Consumed {
		h.Counted++
	}
	switch {
	case o.Kind == Succeeded:
		h.Consecutive = 0
	case o.Kind.Infrastructure(), o.Kind == Killed, o.Kind == Suspended:
	default:
		h.Consecutive++
	}
	return h
}
