package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

func post(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, nil)
	req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// restart Always keeps two workers alive: a worker whose agent is lost is
// started again elsewhere without using a retry (retries 0), a worker that
// exits is started again after its backoff; kill ends the job.
func TestBatchRestartAlwaysSurvivesAgentLoss(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, Simulated: true, Resources: "cpus:1;mem:1024;disk:1024"})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: workers
tasks:
  - name: worker
    command: "true"
    instances: 2
    restart: Always
    retries: 0
    backoff: {delay: 100ms}
    resources: {cpus: 1, mem: 64}
    labels: {"localmesos.sim/duration": "1h"}
`))
	running := func(as []job.Attempt) []job.Attempt {
		var out []job.Attempt
		for _, a := range as {
			if a.State == job.AttemptRunning {
				out = append(out, a)
			}
		}
		return out
	}
	var first []job.Attempt
	waitFor(t, "two workers running", 20*time.Second, func() bool {
		_, as := bstatus(t, n, j.ID)
		first = running(as)
		return len(first) == 2
	})
	victim := -1
	for i, a := range env.mesos.Agents() {
		if a.Hostname() == first[0].Hostname {
			victim = i
		}
	}
	if err := env.mesos.KillAgent(victim); err != nil {
		t.Fatal(err)
	}
	var as []job.Attempt
	waitFor(t, "the lost worker restarted elsewhere", 30*time.Second, func() bool {
		_, as = bstatus(t, n, j.ID)
		r := running(as)
		return len(r) == 2 && len(as) == 3
	})
	for _, a := range as {
		switch {
		case a.Index == first[0].Index && a.Attempt == first[0].Attempt:
			if a.State != job.AttemptLost || a.Verdict != job.VerdictAgain {
				t.Errorf("lost worker: %+v", a)
			}
		case a.Index == first[0].Index:
			if a.Hostname == first[0].Hostname {
				t.Errorf("restarted on the lost agent %s", a.Hostname)
			}
		}
	}
	if st, _ := bstatus(t, n, j.ID); st.State != job.Running {
		t.Fatalf("job %s", st.State)
	}
	if _, err := n.Kill(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := waitBatch(t, n, j.ID, 30*time.Second); st.State != job.Killed {
		t.Fatalf("after kill: %s", st.State)
	}
}

// Suspend, resume and retry through the HTTP API: a suspended job runs
// nothing and is suspended; resumed it runs; a failed job retried after
// the cause is fixed succeeds, its succeeded part not run again.
func TestBatchSuspendResumeRetryAPI(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2})
	n, _ := env.startNode("a")
	waitFor(t, "leader", 10*time.Second, n.IsLeader)
	srv := httptest.NewServer(api.Handler(n, api.Config{Auth: e2eGuard()}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(dir, "ready")
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: fixme
tasks:
  - name: a
    command: "true"
    instances: 2
  - name: b
    command: "test -f `+flag+`"
    depends: [a]
    retries: 0
  - name: c
    command: "true"
    depends: [b]
`))
	st, as := waitBatch(t, n, j.ID, 30*time.Second)
	if st.State != job.Failed || taskStatus(st, "c").State != job.Skipped || len(as) != 3 {
		t.Fatalf("before the fix: %+v, %d attempts", st, len(as))
	}
	if code, body := post(t, srv.URL+"/v1/jobs/"+j.ID+"/suspend"); code != http.StatusConflict {
		t.Fatalf("suspend a failed job: %d %v", code, body)
	}
	if code, body := post(t, srv.URL+"/v1/jobs/"+j.ID+"/retry?upstream=maybe"); code != http.StatusBadRequest || body["field"] != "upstream" {
		t.Fatalf("bad upstream: %d %v", code, body)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, srv.URL+"/v1/jobs/"+j.ID+"/retry"); code != http.StatusAccepted {
		t.Fatalf("retry: %d %v", code, body)
	}
	st, as = waitBatch(t, n, j.ID, 30*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("after retry: %+v", st)
	}
	m := byTask(as)
	if len(m["a"]) != 2 || len(m["b"]) != 2 || len(m["c"]) != 1 || m["b"][1].Attempt != 1 {
		t.Fatalf("attempts after retry: a %d b %d c %d", len(m["a"]), len(m["b"]), len(m["c"]))
	}
	// Retry with upstream reruns a as well.
	if code, body := post(t, srv.URL+"/v1/jobs/"+j.ID+"/retry?upstream=true"); code != http.StatusConflict {
		t.Fatalf("retry a succeeded job: %d %v", code, body)
	}

	// Suspend a running job, then resume it.
	s := submit(t, []*node.Node{n}, mustSpec(t, `
name: sleepy
tasks:
  - name: s
    command: "sleep 0.5"
    instances: 4
    retries: 0
`))
	waitFor(t, "sleepy running", 20*time.Second, func() bool {
		st, _ := bstatus(t, n, s.ID)
		return st.State == job.Running
	})
	if code, body := post(t, srv.URL+"/v1/jobs/"+s.ID+"/suspend"); code != http.StatusAccepted {
		t.Fatalf("suspend: %d %v", code, body)
	}
	waitFor(t, "nothing running while suspended", 20*time.Second, func() bool {
		st, _ := bstatus(t, n, s.ID)
		return st.State == job.Suspended && st.Tasks[0].Counts.Running == 0
	})
	if code, body := post(t, srv.URL+"/v1/jobs/"+s.ID+"/resume"); code != http.StatusAccepted {
		t.Fatalf("resume: %d %v", code, body)
	}
	st, _ = waitBatch(t, n, s.ID, 30*time.Second)
	if st.State != job.Succeeded || st.Tasks[0].Counts.Succeeded != 4 {
		t.Fatalf("after resume: %+v", st)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/schema", nil)
	req.Header.Set("Authorization", "Bearer "+e2eReaderToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/schema: %d", resp.StatusCode)
	}
}
