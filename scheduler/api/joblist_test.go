package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestParseListQuery(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		q     string
		field string
		check func(listQuery) bool
	}{
		{"", "", func(lq listQuery) bool { return lq.states == nil && lq.since.IsZero() && lq.limit == 0 }},
		{"state=failed&state=killed,running", "", func(lq listQuery) bool {
			return lq.states[job.Failed] && lq.states[job.Killed] && lq.states[job.Running] && !lq.states[job.Pending]
		}},
		{"since=24h", "", func(lq listQuery) bool { return lq.since.Equal(now.Add(-24 * time.Hour)) }},
		{"since=2026-12-01T00:00:00Z", "", func(lq listQuery) bool { return lq.since.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) }},
		{"label=team=data&label=tier=a=b", "", func(lq listQuery) bool { return lq.labels["team"] == "data" && lq.labels["tier"] == "a=b" }},
		{"limit=5", "", func(lq listQuery) bool { return lq.limit == 5 }},
		{"state=done", "state", nil},
		{"state=" + strings.Repeat("failed&state=", 9) + "failed", "state", nil},
		{"since=yesterday", "since", nil},
		{"since=-1h", "since", nil},
		{"label=team", "label", nil},
		{"label=bad%20key=x", "label", nil},
		{"limit=0", "limit", nil},
		{"limit=1000001", "limit", nil},
		{"colour=red", "colour", nil},
	} {
		v, _ := url.ParseQuery(tc.q)
		lq, err := parseListQuery(v, now)
		switch {
		case tc.field != "" && (err == nil || err.Field != tc.field):
			t.Errorf("%q: %+v; want an error on %s", tc.q, err, tc.field)
		case tc.field == "" && err != nil:
			t.Errorf("%q: %v", tc.q, err.Error)
		case tc.field == "" && !tc.check(lq):
			t.Errorf("%q: %+v", tc.q, lq)
		}
	}
}

func TestSummarize(t *testing.T) {
	sub := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	now := sub.Add(time.Hour)
	j := &job.Job{ID: "j-1", Submitted: sub, Spec: job.Spec{Name: "j", Labels: map[string]string{"team": "data"}}}
	lastEnded := sub.Add(9 * time.Minute) // of two attempts
	s := summarize(j, job.Status{ID: "j-1", State: job.Succeeded}, lastEnded, 2, now)
	if s.Ended == nil || !s.Ended.Equal(sub.Add(9*time.Minute)) || s.Duration != 540 || s.Labels["team"] != "data" {
		t.Fatalf("finished: %+v", s)
	}
	s = summarize(j, job.Status{ID: "j-1", State: job.Running}, lastEnded, 2, now)
	if s.Ended != nil || s.Duration != 3600 {
		t.Fatalf("running: %+v", s)
	}
	cj := &job.Job{ID: "c", Submitted: sub, LastScheduled: sub.Add(30 * time.Minute), Spec: job.Spec{Name: "c", Schedule: &job.Schedule{Cron: "*/15 * * * *"}}}
	s = summarize(cj, job.Status{ID: "c", State: job.Pending}, time.Time{}, 0, now.Add(7*time.Minute))
	if s.Schedule == nil || s.Schedule.Cron != "*/15 * * * *" || s.Schedule.LastRun == nil || !s.Schedule.LastRun.Equal(sub.Add(30*time.Minute)) ||
		s.Schedule.NextRun == nil || !s.Schedule.NextRun.Equal(sub.Add(75*time.Minute)) || s.Duration != 0 {
		t.Fatalf("scheduled: %+v %+v", s, s.Schedule)
	}
	cj.Spec.Schedule.Suspend = true
	if s = summarize(cj, job.Status{ID: "c"}, time.Time{}, 0, now); s.Schedule.NextRun != nil {
		t.Fatalf("a suspended schedule has a next run: %v", s.Schedule.NextRun)
	}
}

// GET /v1/jobs filters server-side, in submission order.
func TestListFilters(t *testing.T) {
	f, srv := setup(t)
	f.leader = true
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	for i, name := range []string{"c", "a", "b"} {
		labels := map[string]string{"team": "data"}
		if name == "b" {
			labels = map[string]string{"team": "web"}
		}
		j := &job.Job{ID: name + "-1", Submitted: base.Add(time.Duration(i) * time.Minute), Spec: job.Spec{Name: name, Labels: labels,
			Tasks: []job.TaskSpec{{Name: "t", Instances: 1, Command: "true"}}}}
		if err := f.st.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	f.st.PutAttempts(ctx, []job.Attempt{{Job: "a-1", Task: "t", Index: 0, State: job.AttemptFailed, Ended: base.Add(3 * time.Minute)}})
	list := func(q string) ([]string, int) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/v1/jobs?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+readerToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []JobSummary
		json.NewDecoder(resp.Body).Decode(&out)
		var ids []string
		for _, s := range out {
			ids = append(ids, s.ID)
		}
		return ids, resp.StatusCode
	}
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"", "c-1 a-1 b-1"},
		{"label=team=data", "c-1 a-1"},
		{"state=failed", "a-1"},
		{"state=pending&label=team=data", "c-1"},
		{"since=" + url.QueryEscape(base.Add(30*time.Second).UTC().Format(time.RFC3339)), "a-1 b-1"},
		{"limit=2", "a-1 b-1"},
	} {
		ids, code := list(tc.q)
		if code != 200 || strings.Join(ids, " ") != tc.want {
			t.Errorf("%q: %d %v; want %s", tc.q, code, ids, tc.want)
		}
	}
	if _, code := list("state=nope"); code != http.StatusBadRequest {
		t.Errorf("bad state: %d", code)
	}
}
