package api

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/cron"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// GET /v1/jobs?state=failed&state=killed&since=24h&label=team=data&limit=50
// lists the jobs matching every filter given, in submission order (the
// newest last; limit keeps the newest).

// Bounds of the list query.
const (
	maxListStates = 8
	maxListLabels = 16
	maxListLimit  = 100_000
)

// JobSummary is one job of GET /v1/jobs.
type JobSummary struct {
	job.Status
	Labels map[string]string `json:"labels,omitempty"`
	// Ended is when the last attempt of a finished job ended; Duration
	// is Ended (or now, while it runs) minus submission, in seconds.
	Ended    *time.Time `json:"ended,omitempty"`
	Duration float64    `json:"durationSeconds,omitempty"`
	// Parent is the scheduled job this job is a run of.
	Parent   string           `json:"parent,omitempty"`
	Schedule *ScheduleSummary `json:"schedule,omitempty"`
}

// ScheduleSummary is a scheduled job's cron schedule with its last
// handled and its next run time.
type ScheduleSummary struct {
	Cron     string     `json:"cron"`
	Timezone string     `json:"timezone,omitempty"`
	Suspend  bool       `json:"suspend,omitempty"`
	LastRun  *time.Time `json:"lastRun,omitempty"`
	NextRun  *time.Time `json:"nextRun,omitempty"`
}

// listQuery is GET /v1/jobs's query, checked.
type listQuery struct {
	states map[job.State]bool
	since  time.Time
	labels map[string]string
	limit  int
}

var knownStates = []job.State{job.Pending, job.Running, job.Succeeded, job.Failed, job.Killed, job.Skipped, job.Suspended}

// parseListQuery checks the list query: known parameters only, each
// bounded; a bad one is a *FieldError-like Error naming it.
func parseListQuery(q url.Values, now time.Time) (listQuery, *Error) {
	var lq listQuery
	for k := range q {
		switch k {
		case "state", "since", "label", "limit":
		default:
			field := k
			if field == "" {
				field = "query"
			}
			return lq, &Error{Error: fmt.Sprintf("unknown query parameter %q (state, since, label, limit)", k), Field: field}
		}
	}
	if ss := q["state"]; len(ss) > 0 {
		if len(ss) > maxListStates {
			return lq, &Error{Error: fmt.Sprintf("%d states; at most %d", len(ss), maxListStates), Field: "state"}
		}
		lq.states = map[job.State]bool{}
		for _, s := range ss {
			for _, one := range strings.Split(s, ",") {
				st := job.State(one)
				if !knownState(st) {
					return lq, &Error{Error: fmt.Sprintf("unknown state %q (want one of %v)", one, knownStates), Field: "state"}
				}
				lq.states[st] = true
			}
		}
	}
	if v := q.Get("since"); v != "" {
		t, err := parseSince(v, now)
		if err != nil {
			return lq, &Error{Error: err.Error(), Field: "since"}
		}
		lq.since = t
	}
	if ls := q["label"]; len(ls) > 0 {
		if len(ls) > maxListLabels {
			return lq, &Error{Error: fmt.Sprintf("%d labels; at most %d", len(ls), maxListLabels), Field: "label"}
		}
		lq.labels = map[string]string{}
		for _, l := range ls {
			k, v, ok := strings.Cut(l, "=")
			if !ok || !spec.ValidLabelKey(k) || len(v) > spec.MaxLabelValueLen {
				return lq, &Error{Error: fmt.Sprintf("label %q: want KEY=VALUE with a valid key", l), Field: "label"}
			}
			lq.labels[k] = v
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return lq, &Error{Error: fmt.Sprintf("limit %q: want 1 to %d", v, maxListLimit), Field: "limit"}
		}
		lq.limit = n
	}
	return lq, nil
}

func knownState(s job.State) bool {
	for _, k := range knownStates {
		if s == k {
			return true
		}
	}
	return false
}

// parseSince reads an RFC 3339 time or a duration back from now ("24h").
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: want an RFC 3339 time or a duration such as 24h", v)
}

// keepJob applies the filters that need no attempts.
func (lq listQuery) keepJob(j *job.Job) bool {
	if !lq.since.IsZero() && j.Submitted.Before(lq.since) {
		return false
	}
	for k, v := range lq.labels {
		if got, ok := j.Spec.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (lq listQuery) keepState(s job.State) bool { return lq.states == nil || lq.states[s] }

// sortAndLimit orders jobs by submission (then ID) and keeps the newest
// limit of them.
func (lq listQuery) sortAndLimit(out []JobSummary, submitted map[string]time.Time) []JobSummary {
	sort.SliceStable(out, func(a, b int) bool {
		sa, sb := submitted[out[a].ID], submitted[out[b].ID]
		if !sa.Equal(sb) {
			return sa.Before(sb)
		}
		return out[a].ID < out[b].ID
	})
	if lq.limit > 0 && len(out) > lq.limit {
		out = out[len(out)-lq.limit:]
	}
	return out
}

// summarize is one job's list entry: its status with labels, end time
// and duration, and for a scheduled job its schedule's last and next run.
// lastEnded is the latest end of its attempts, records how many it has.
func summarize(j *job.Job, st job.Status, lastEnded time.Time, records int, now time.Time) JobSummary {
	s := JobSummary{Status: st, Labels: j.Spec.Labels, Parent: j.Parent}
	if st.State.Terminal() {
		end := lastEnded
		if !j.KilledAt.IsZero() && j.KilledAt.After(end) && records == 0 {
			end = j.KilledAt
		}
		if !end.IsZero() {
			e := end.UTC()
			s.Ended = &e
			s.Duration = end.Sub(j.Submitted).Seconds()
		}
	} else if j.Spec.Schedule == nil {
		s.Duration = now.Sub(j.Submitted).Seconds()
	}
	if sc := j.Spec.Schedule; sc != nil {
		s.Schedule = &ScheduleSummary{Cron: sc.Cron, Timezone: sc.Timezone, Suspend: sc.Suspend}
		if !j.LastScheduled.IsZero() {
			l := j.LastScheduled.UTC()
			s.Schedule.LastRun = &l
		}
		if c, err := cron.FromJob(sc).Compile("schedule"); err == nil && !sc.Suspend && !j.KillRequested {
			if next := c.Next(now); !next.IsZero() {
				n := next.UTC()
				s.Schedule.NextRun = &n
			}
		}
	}
	if s.Duration < 0 {
		s.Duration = 0
	}
	return s
}
