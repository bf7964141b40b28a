package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// cronBackend runs scheduled jobs now: the run is "<id>-now".
type cronBackend struct{ *fakeBackend }

func (c cronBackend) RunNow(ctx context.Context, id string) (string, error) {
	j, err := c.st.GetJob(ctx, id)
	if err != nil {
		return "", err
	}
	if j.Spec.Schedule == nil {
		return "", &node.ConflictError{Msg: "job " + id + " has no schedule"}
	}
	return id + "-now", nil
}

func TestRunNowAndSpecRoutes(t *testing.T) {
	f := &fakeBackend{st: store.NewMemory(), leader: true}
	srv := httptest.NewServer(Handler(cronBackend{f}, Config{Auth: testGuard()}))
	defer srv.Close()
	ctx := context.Background()
	f.st.CreateJob(ctx, &job.Job{ID: "c-1", Spec: job.Spec{Name: "c", Labels: map[string]string{"a": "b"}, Schedule: &job.Schedule{Cron: "@hourly"}, Tasks: []job.TaskSpec{{Name: "t", Command: "true", Instances: 1}}}})
	f.st.CreateJob(ctx, &job.Job{ID: "p-1", Spec: job.Spec{Name: "p", Tasks: []job.TaskSpec{{Name: "t", Command: "true", Instances: 1}}}})

	resp, m := do(t, "POST", srv.URL+"/v1/jobs/c-1/run-now", "", adminToken)
	if resp.StatusCode != http.StatusAccepted || m["run"] != "c-1-now" {
		t.Fatalf("run-now: %d %v", resp.StatusCode, m)
	}
	if resp, m = do(t, "POST", srv.URL+"/v1/jobs/p-1/run-now", "", adminToken); resp.StatusCode != http.StatusConflict || m["field"] != "id" {
		t.Fatalf("run-now of an unscheduled job: %d %v", resp.StatusCode, m)
	}
	if resp, _ = do(t, "POST", srv.URL+"/v1/jobs/nope/run-now", "", adminToken); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("run-now of a missing job: %d", resp.StatusCode)
	}
	if resp, _ = do(t, "POST", srv.URL+"/v1/jobs/c-1/run-now", "", readerToken); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("run-now with a read-only token: %d", resp.StatusCode)
	}
	if resp, m = do(t, "GET", srv.URL+"/v1/jobs/c-1/spec", "", readerToken); resp.StatusCode != 200 || m["name"] != "c" || m["labels"].(map[string]any)["a"] != "b" {
		t.Fatalf("spec: %d %v", resp.StatusCode, m)
	}
	if resp, _ = do(t, "GET", srv.URL+"/v1/jobs/c-1/spec", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("spec without a token: %d", resp.StatusCode)
	}
	// A backend without RunNow says so.
	_, plain := setup(t)
	if resp, _ = do(t, "POST", plain.URL+"/v1/jobs/c-1/run-now", "", adminToken); resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("run-now on a plain backend: %d", resp.StatusCode)
	}
}
