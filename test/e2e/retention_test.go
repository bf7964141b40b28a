package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Job delete through the API: refused (409) while the job runs, done (202)
// once it was killed, after which the job and its attempts are gone (404);
// a job with ttlAfterFinished disappears by itself once finished.
func TestJobPurgeAndTTLAfterFinished(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Simulated: true, Resources: "cpus:2;mem:1024;disk:1024"})
	n, _ := env.startNode("a", func(c *node.Config) { c.GCInterval = 100 * time.Millisecond })
	waitFor(t, "leader", 10*time.Second, n.IsLeader)
	srv := httptest.NewServer(api.Handler(n, api.Config{Auth: e2eGuard()}))
	defer srv.Close()

	long := submit(t, []*node.Node{n}, mustSpec(t, `
name: long
tasks:
  - name: a
    command: "true"
    labels: {"localmesos.sim/duration": "1h"}
`))
	waitFor(t, "long running", 20*time.Second, func() bool {
		st, _ := bstatus(t, n, long.ID)
		return st.State == job.Running
	})
	if code, body := post(t, srv.URL+"/v1/jobs/"+long.ID+"/purge"); code != http.StatusConflict {
		t.Fatalf("purge a running job: %d %v, want 409", code, body)
	}
	if _, err := n.Kill(context.Background(), long.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "long killed", 20*time.Second, func() bool {
		st, _ := bstatus(t, n, long.ID)
		return st.State.Terminal()
	})
	if code, body := post(t, srv.URL+"/v1/jobs/"+long.ID+"/purge"); code != http.StatusAccepted || body["state"] != "deleted" {
		t.Fatalf("purge a killed job: %d %v, want 202 deleted", code, body)
	}
	if _, err := n.Store().GetJob(context.Background(), long.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged job still stored: %v", err)
	}
	if as, _ := n.Store().Attempts(context.Background(), long.ID); len(as) != 0 {
		t.Fatalf("purged job's attempts still stored: %d", len(as))
	}
	if code, _ := post(t, srv.URL+"/v1/jobs/"+long.ID+"/purge"); code != http.StatusNotFound {
		t.Fatalf("purge a purged job: %d, want 404", code)
	}

	short := submit(t, []*node.Node{n}, mustSpec(t, `
name: short
ttlAfterFinished: 1s
tasks:
  - name: a
    command: "true"
`))
	waitFor(t, "short deleted after it finished", 30*time.Second, func() bool {
		_, err := n.Store().GetJob(context.Background(), short.ID)
		return errors.Is(err, store.ErrNotFound)
	})
}
