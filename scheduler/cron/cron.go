package cron

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/retry"
	rcron "github.com/robfig/cron/v3"
)

// Concurrency says what to do when a run is due while earlier runs are
// still active.
type Concurrency string

// Concurrency policies.
const (
	// Allow (the default) creates the run; runs may overlap.
	Allow Concurrency = "Allow"
	// Forbid creates nothing while a run is active; the due run stays due
	// (and is created when the active run ends, if still within
	// startingDeadline).
	Forbid Concurrency = "Forbid"
	// Replace kills the active runs and creates the new one.
	Replace Concurrency = "Replace"
)

// Schedule is a job's schedule as written in its spec.
type Schedule struct {
	// Cron is a standard five-field expression ("30 2 * * *") or a
	// descriptor (@hourly, @daily, @every 10m). No CRON_TZ= prefix: use
	// Timezone.
	Cron string `json:"cron"`
	// Timezone is an IANA name (Europe/Berlin); default UTC.
	Timezone    string      `json:"timezone,omitempty"`
	Concurrency Concurrency `json:"concurrency,omitempty"`
	// StartingDeadline: a run not created within this long after its
	// scheduled time is missed (skipped and counted). 0 = no deadline.
	StartingDeadline retry.Duration `json:"startingDeadline,omitempty"`
	// Suspend stops creating runs (due ones are missed meanwhile).
	Suspend bool `json:"suspend,omitempty"`
	// SuccessfulRunsHistoryLimit and FailedRunsHistoryLimit: how many
	// finished runs of each outcome are kept; older ones are removed (see
	// Prune). FromJob fills in the defaults.
	SuccessfulRunsHistoryLimit int `json:"successfulRunsHistoryLimit,omitempty"`
	FailedRunsHistoryLimit     int `json:"failedRunsHistoryLimit,omitempty"`
}

// Bounds of a schedule.
const (
	// DefaultSuccessfulRunsHistoryLimit and DefaultFailedRunsHistoryLimit
	// are Kubernetes CronJob's defaults.
	DefaultSuccessfulRunsHistoryLimit = 3
	DefaultFailedRunsHistoryLimit     = 1
	// MaxRunsHistoryLimit bounds either history limit.
	MaxRunsHistoryLimit = 1000
)

// MinInterval is the shortest time between two runs a schedule may ask
// for ("@every 1m"; five-field expressions cannot ask for less). Only
// tests of the cron loop lower it, to run in seconds.
var MinInterval = time.Minute

// Compiled is a parsed, validated schedule.
type Compiled struct {
	Schedule
	sched rcron.Schedule
	loc   *time.Location
	// fixedTime: minute and hour are not wildcards ("30 2 * * *"); such
	// runs get cron's DST treatment (see Next).
	fixedTime bool
}

var parser = rcron.NewParser(rcron.Minute | rcron.Hour | rcron.Dom | rcron.Month | rcron.Dow | rcron.Descriptor)

// Compile validates s; path is the schedule's field path (e.g.
// "schedule") and prefixes the field in a *fielderr.FieldError.
func (s Schedule) Compile(path string) (*Compiled, error) {
	c := &Compiled{Schedule: s}
	if strings.TrimSpace(s.Cron) == "" {
		return nil, &fielderr.FieldError{Field: path + ".cron", Msg: "required"}
	}
	if strings.Contains(s.Cron, "TZ=") {
		return nil, &fielderr.FieldError{Field: path + ".cron", Msg: "give the time zone in timezone, not as a TZ= prefix"}
	}
	sched, err := parser.Parse(s.Cron)
	if err != nil {
		return nil, &fielderr.FieldError{Field: path + ".cron", Msg: fmt.Sprintf("bad cron expression %q: %v", s.Cron, err)}
	}
	if every, ok := sched.(rcron.ConstantDelaySchedule); ok && every.Delay < MinInterval {
		return nil, &fielderr.FieldError{Field: path + ".cron", Msg: fmt.Sprintf("%q runs more often than once every %v", s.Cron, MinInterval)}
	}
	c.sched = sched
	if ss, ok := sched.(*rcron.SpecSchedule); ok {
		c.fixedTime = !wildcard(ss.Minute, 60) && !wildcard(ss.Hour, 24)
	}
	c.loc = time.UTC
	if s.Timezone != "" {
		if c.loc, err = time.LoadLocation(s.Timezone); err != nil {
			return nil, &fielderr.FieldError{Field: path + ".timezone", Msg: fmt.Sprintf("unknown time zone %q: %v", s.Timezone, err)}
		}
	}
	switch s.Concurrency {
	case "":
		c.Concurrency = Allow
	case Allow, Forbid, Replace:
	default:
		return nil, &fielderr.FieldError{Field: path + ".concurrency", Msg: fmt.Sprintf("must be Allow, Forbid or Replace, got %q", s.Concurrency)}
	}
	for _, h := range []struct {
		field string
		n     int
	}{{"successfulRunsHistoryLimit", s.SuccessfulRunsHistoryLimit}, {"failedRunsHistoryLimit", s.FailedRunsHistoryLimit}} {
		if h.n < 0 || h.n > MaxRunsHistoryLimit {
			return nil, &fielderr.FieldError{Field: path + "." + h.field, Msg: fmt.Sprintf("must be between 0 and %d, got %d", MaxRunsHistoryLimit, h.n)}
		}
	}
	if s.StartingDeadline < 0 {
		return nil, &fielderr.FieldError{Field: path + ".startingDeadline", Msg: fmt.Sprintf("must be >= 0, got %v", time.Duration(s.StartingDeadline))}
	}
	return c, nil
}

const starBit = 1 << 63

func wildcard(field uint64, n int) bool {
	return field&starBit != 0 || bits.OnesCount64(field&(1<<n-1)) == n
}

// Next returns the first scheduled time strictly after t, in UTC (zero if
// none within five years).
//
// Daylight saving time is handled as classic cron does: a run at a fixed
// local time (minute and hour not wildcards) whose time is skipped when
// clocks go forward runs at the transition instead of not at all, and one
// whose time repeats when clocks go back runs once, at the first. Runs
// with a wildcard hour or minute follow real time (an hourly run happens
// every real hour).
func (c *Compiled) Next(t time.Time) time.Time {
	n := c.sched.Next(t.In(c.loc))
	if n.IsZero() || !c.fixedTime {
		return n.UTC()
	}
	// Clocks went forward between t and n: did a run fall in the gap?
	for cur := t.In(c.loc); ; {
		_, end := cur.ZoneBounds()
		if end.IsZero() || end.After(n) {
			break
		}
		_, before := cur.Zone()
		_, after := end.Zone()
		if gap := time.Duration(after-before) * time.Second; gap > 0 && end.After(t) {
			// Wall times in the gap, read with the old offset, are the
			// instants [end, end+gap).
			sn := c.sched.Next(end.Add(-time.Second).In(time.FixedZone("", before)))
			if !sn.Before(end) && sn.Before(end.Add(gap)) {
				return end.UTC()
			}
		}
		cur = end
	}
	// Clocks went back just before n and n's wall time already happened.
	start, _ := n.ZoneBounds()
	_, prev := start.Add(-time.Second).Zone()
	if _, off := n.Zone(); prev > off {
		e := n.Add(-time.Duration(prev-off) * time.Second).In(c.loc)
		if e.Before(start) && e.Format(time.DateTime) == n.Format(time.DateTime) {
			return c.Next(n)
		}
	}
	return n.UTC()
}

// RunID is the id of the run of job scheduled at t: <job>-<unix seconds>.
// The caller creates runs with create-if-absent on this id, so evaluating
// the same due time twice (e.g. by a new leader) creates one run.
func RunID(job string, t time.Time) string { return job + "-" + strconv.FormatInt(t.Unix(), 10) }

// ParseRunID returns the scheduled time encoded in a run id of job.
func ParseRunID(job, id string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(id, job+"-")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// Run is one run of a scheduled job.
type Run struct {
	ID        string
	Scheduled time.Time
}

// Limits of one evaluation.
const (
	// MaxCatchUp bounds the runs Allow creates in one evaluation after an
	// outage; older due runs within the deadline are counted as Coalesced.
	MaxCatchUp = 10
	// maxScan bounds the scheduled times enumerated in one evaluation.
	maxScan = 100_000
)

// Plan is what Evaluate decided.
type Plan struct {
	// Create: runs to create, oldest first (create-if-absent by ID).
	Create []Run
	// Kill: active run ids to kill first (Replace).
	Kill []string
	// Missed counts due runs skipped because startingDeadline had passed
	// (or the schedule is suspended).
	Missed int
	// Coalesced counts due runs within the deadline folded into a later
	// one (Forbid/Replace create only the latest; Allow at most MaxCatchUp).
	Coalesced int
	// Truncated: more than maxScan due times were skipped; Missed is a lower
	// bound.
	Truncated bool
	// LastScheduled is the value to record for the next evaluation: the
	// latest scheduled time handled (created, missed or coalesced). Record
	// it in the same etcd transaction as the creates, or after them —
	// never before, or a crash in between loses the run.
	LastScheduled time.Time
	// NextWake is when to evaluate again at the latest (the next scheduled
	// time, or the deadline of a run Forbid holds back). Evaluate also
	// whenever an active run ends.
	NextWake time.Time
}

// Evaluate decides what to do at now. last is the scheduled time recorded
// by the previous evaluation (or the job's creation time for the first);
// active are the runs not yet ended. It is pure: the same inputs give the
// same plan.
func (c *Compiled) Evaluate(job string, last, now time.Time, active []Run) Plan {
	p := Plan{LastScheduled: last}
	var due []time.Time
	deadline := time.Duration(c.StartingDeadline)
	scanned := 0
	beforeDue := last
	for t := c.Next(last); !t.IsZero() && !t.After(now); t = c.Next(t) {
		if scanned++; scanned > maxScan {
			p.Truncated = true
			// Jump close to now: what lies between is missed anyway.
			skipTo := now.Add(-deadline)
			if deadline == 0 || !skipTo.After(t) {
				skipTo = now.Add(-time.Hour)
			}
			if skipTo.After(t) {
				t = c.Next(skipTo)
				if t.IsZero() || t.After(now) {
					break
				}
			}
		}
		prev := p.LastScheduled
		p.LastScheduled = t
		if c.Suspend || (deadline > 0 && now.Sub(t) > deadline) {
			p.Missed++
			continue
		}
		if len(due) == 0 {
			beforeDue = prev
		}
		due = append(due, t)
	}
	p.NextWake = c.Next(now)
	if len(due) == 0 {
		return p
	}
	switch c.Concurrency {
	case Forbid:
		if len(active) > 0 {
			// Nothing is created and the due runs stay due: record only
			// what was missed, so the next evaluation sees them again.
			p.LastScheduled = beforeDue
			if first := due[0]; deadline > 0 {
				p.NextWake = minTime(p.NextWake, first.Add(deadline))
			}
			return p
		}
		p.Coalesced = len(due) - 1
		due = due[len(due)-1:]
	case Replace:
		for _, r := range active {
			p.Kill = append(p.Kill, r.ID)
		}
		p.Coalesced = len(due) - 1
		due = due[len(due)-1:]
	default:
		if len(due) > MaxCatchUp {
			p.Coalesced = len(due) - MaxCatchUp
			due = due[len(due)-MaxCatchUp:]
		}
	}
	for _, t := range due {
		p.Create = append(p.Create, Run{ID: RunID(job, t), Scheduled: t})
	}
	return p
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// FinishedRun is a run of the schedule that has ended.
type FinishedRun struct {
	Run
	Succeeded bool
}

// Prune decides which finished runs to remove: all but the newest
// SuccessfulRunsHistoryLimit succeeded ones and the newest
// FailedRunsHistoryLimit failed ones (by scheduled time). It returns their
// ids, oldest first; it is pure.
func (c *Compiled) Prune(finished []FinishedRun) []string {
	runs := slices.Clone(finished)
	slices.SortFunc(runs, func(a, b FinishedRun) int { return b.Scheduled.Compare(a.Scheduled) }) // newest first
	keep := map[bool]int{true: c.SuccessfulRunsHistoryLimit, false: c.FailedRunsHistoryLimit}
	var remove []string
	for _, r := range runs {
		if keep[r.Succeeded] > 0 {
			keep[r.Succeeded]--
			continue
		}
		remove = append(remove, r.ID)
	}
	slices.Reverse(remove)
	return remove
}
