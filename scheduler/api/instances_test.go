package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

// pageJob is a job of tasks a (10 instances, no retry) and b (5
// instances): a/2 and a/7 failed, a/4 runs, a/5 succeeded, b/0..2 were
// folded, b/3 runs, b/4 failed once and waits for its retry.
func pageJob() (*job.Job, []job.Attempt) {
	j := &job.Job{ID: "j-1", Spec: job.Spec{Name: "j", Tasks: []job.TaskSpec{
		{Name: "a", Instances: 10},
		{Name: "b", Instances: 5, Retries: 2},
	}}, Folded: job.Folds{"b": {{From: 0, To: 3}}}}
	one := 1
	at := func(task string, i, n int, st job.AttemptState, verdict string) job.Attempt {
		a := job.Attempt{Job: "j-1", Task: task, Index: i, Attempt: n, State: st, Verdict: verdict, Hostname: "h"}
		if st == job.AttemptFailed {
			a.ExitCode = &one
		}
		return a
	}
	as := []job.Attempt{
		at("a", 7, 0, job.AttemptFailed, job.VerdictFail),
		at("a", 4, 0, job.AttemptRunning, ""),
		at("a", 2, 0, job.AttemptFailed, job.VerdictFail),
		at("a", 5, 0, job.AttemptSucceeded, job.VerdictDone),
		at("b", 3, 0, job.AttemptRunning, ""),
		at("b", 4, 0, job.AttemptFailed, job.VerdictAgain), // retried: pending
	}
	return j, as
}

func refs(page []InstanceRef) []string {
	out := []string{}
	for _, r := range page {
		out = append(out, fmt.Sprintf("%s/%d:%s", r.Task, r.Index, r.State))
	}
	return out
}

func TestPageInstances(t *testing.T) {
	j, as := pageJob()
	all := []string{
		"a/2:failed", "a/7:failed",
		"a/4:running", "b/3:running",
		"a/0:pending", "a/1:pending", "a/3:pending", "a/6:pending", "a/8:pending", "a/9:pending", "b/4:pending",
		"a/5:succeeded", "b/0:succeeded", "b/1:succeeded", "b/2:succeeded",
	}
	cases := []struct {
		name  string
		q     InstanceQuery
		total int
		want  []string
	}{
		{"everything, failed first", InstanceQuery{Limit: 100}, 15, all},
		{"first page", InstanceQuery{Limit: 3}, 15, all[:3]},
		{"a middle page crossing ranks and tasks", InstanceQuery{Offset: 3, Limit: 5}, 15, all[3:8]},
		{"last page short", InstanceQuery{Offset: 13, Limit: 5}, 15, all[13:]},
		{"offset beyond the end", InstanceQuery{Offset: 40, Limit: 5}, 15, []string{}},
		{"one task", InstanceQuery{Task: "b", Limit: 100}, 5, []string{"b/3:running", "b/4:pending", "b/0:succeeded", "b/1:succeeded", "b/2:succeeded"}},
		{"states failed and running", InstanceQuery{States: []job.State{job.Running, job.Failed}, Limit: 100}, 4, all[:4]},
		{"pending of a, paged", InstanceQuery{Task: "a", States: []job.State{job.Pending}, Offset: 2, Limit: 2}, 6, []string{"a/3:pending", "a/6:pending"}},
		{"folded count as succeeded", InstanceQuery{States: []job.State{job.Succeeded}, Offset: 1, Limit: 10}, 4, all[12:]},
		{"killed: none", InstanceQuery{States: []job.State{job.Killed}, Limit: 10}, 0, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			total, page := PageInstances(j, as, c.q)
			if got := refs(page); total != c.total || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("total %d, page %v; want %d, %v", total, got, c.total, c.want)
			}
		})
	}
}

func TestPageInstancesKilledJob(t *testing.T) {
	j, as := pageJob()
	j.KillRequested = true
	// a/4 still runs (until its kill is confirmed); the 6 never run are killed.
	total, page := PageInstances(j, as, InstanceQuery{Task: "a", States: []job.State{job.Killed}, Limit: 3})
	if got := refs(page); total != 6 || !reflect.DeepEqual(got, []string{"a/0:killed", "a/1:killed", "a/3:killed"}) {
		t.Fatalf("total %d page %v", total, got)
	}
}

// A task of a million instances that never ran pages without walking
// them all when the page is of failed ones, and counts them all.
func TestPageInstancesHugeTask(t *testing.T) {
	j := &job.Job{ID: "big-1", Spec: job.Spec{Name: "big", Tasks: []job.TaskSpec{{Name: "t", Instances: 1_000_000}}}}
	as := []job.Attempt{{Job: "big-1", Task: "t", Index: 999_999, State: job.AttemptFailed, Verdict: job.VerdictFail}}
	total, page := PageInstances(j, as, InstanceQuery{Limit: 2})
	if got := refs(page); total != 1_000_000 || !reflect.DeepEqual(got, []string{"t/999999:failed", "t/0:pending"}) {
		t.Fatalf("total %d page %v", total, got)
	}
	total, page = PageInstances(j, as, InstanceQuery{Offset: 999_998, Limit: 5})
	if got := refs(page); total != 1_000_000 || !reflect.DeepEqual(got, []string{"t/999997:pending", "t/999998:pending"}) {
		t.Fatalf("tail: total %d page %v", total, got)
	}
}

func TestParseInstanceQuery(t *testing.T) {
	cases := []struct {
		q     map[string][]string
		want  InstanceQuery
		field string
	}{
		{map[string][]string{}, InstanceQuery{Limit: 100}, ""},
		{map[string][]string{"state": {"failed,running", "failed"}, "task": {"x"}, "offset": {"5"}, "limit": {"1000"}},
			InstanceQuery{Task: "x", States: []job.State{job.Failed, job.Running}, Offset: 5, Limit: 1000}, ""},
		{map[string][]string{"state": {"broken"}}, InstanceQuery{}, "state"},
		{map[string][]string{"offset": {"-1"}}, InstanceQuery{}, "offset"},
		{map[string][]string{"limit": {"1001"}}, InstanceQuery{}, "limit"},
		{map[string][]string{"limit": {"0"}}, InstanceQuery{}, "limit"},
		{map[string][]string{"limit": {"ten"}}, InstanceQuery{}, "limit"},
	}
	for _, c := range cases {
		got, err := ParseInstanceQuery(c.q)
		if c.field != "" {
			if err == nil || err.Field != c.field {
				t.Errorf("%v: error %v, want one naming %q", c.q, err, c.field)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: %+v, %v; want %+v", c.q, got, err, c.want)
		}
	}
}

func TestInstancesRoute(t *testing.T) {
	b, srv := setup(t)
	j, as := pageJob()
	j.Submitted = time.Now()
	ctx := context.Background()
	if err := b.st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := b.st.PutAttempts(ctx, as); err != nil {
		t.Fatal(err)
	}
	resp, m := do(t, "GET", srv.URL+"/v1/jobs/j-1/instances?state=failed,running&limit=3", "", readerToken)
	if resp.StatusCode != 200 || m["total"] != 4.0 || m["limit"] != 3.0 {
		t.Fatalf("page: %d %v", resp.StatusCode, m)
	}
	ins := m["instances"].([]any)
	first := ins[0].(map[string]any)
	if len(ins) != 3 || first["task"] != "a" || first["index"] != 2.0 || first["state"] != "failed" {
		t.Fatalf("instances = %v", ins)
	}
	at := first["attempts"].([]any)[0].(map[string]any)
	if at["taskId"] != "j-1.a.2.0" || at["exitCode"] != 1.0 || at["verdict"] != "fail" {
		t.Fatalf("attempt = %v", at)
	}
	for _, c := range []struct {
		url   string
		code  int
		field string
	}{
		{"/v1/jobs/j-1/instances?limit=5000", 400, "limit"},
		{"/v1/jobs/j-1/instances?state=lost", 400, "state"},
		{"/v1/jobs/j-1/instances?task=nope", 404, "task"},
		{"/v1/jobs/nope/instances", 404, "id"},
	} {
		resp, m := do(t, "GET", srv.URL+c.url, "", readerToken)
		if resp.StatusCode != c.code || m["field"] != c.field {
			t.Errorf("%s: %d %v; want %d naming %q", c.url, resp.StatusCode, m, c.code, c.field)
		}
	}
	if resp, _ := do(t, "GET", srv.URL+"/v1/jobs/j-1/instances", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", resp.StatusCode)
	}
}

func TestWhoAmI(t *testing.T) {
	_, srv := setup(t)
	for tok, want := range map[string]string{adminToken: "admin", readerToken: "read-only"} {
		resp, m := do(t, "GET", srv.URL+"/v1/whoami", "", tok)
		if resp.StatusCode != 200 || m["role"] != want {
			t.Errorf("whoami: %d %v; want role %s", resp.StatusCode, m, want)
		}
	}
	if resp, _ := do(t, "GET", srv.URL+"/v1/whoami", "", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("whoami with a bad token: %d", resp.StatusCode)
	}
}
