package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
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

// Real command-executor processes: each instance writes a file named after
// its GLEANER_INDEX, so the 10 files prove 10 real runs with the right env.
func TestSchedulerRealProcessesWriteFiles(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, WorkDir: t.TempDir()})
	n, _ := env.startNode("a")
	out := t.TempDir()
	j := submit(t, []*node.Node{n}, mustSpec(t, fmt.Sprintf(`
name: files
tasks:
  - name: extract
    command: "echo $GLEANER_JOB > %[1]s/part-$GLEANER_INDEX"
    instances: 10
  - name: load
    command: "cat %[1]s/part-* | wc -l > %[1]s/total"
    depends: [extract]
`, out)))
	st, _ := waitJob(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %+v", st)
	}
	for i := 0; i < 10; i++ {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("part-%d", i)))
		if err != nil || string(bytes.TrimSpace(b)) != j.ID {
			t.Fatalf("part-%d = %q, %v", i, b, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "total")); string(bytes.TrimSpace(b)) != "10" {
		t.Fatalf("load saw %q parts", b)
	}
}

// The examples/ jobs through the HTTP API and its watch stream.
func TestSchedulerExamplesThroughAPI(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, WorkDir: t.TempDir()})
	n, _ := env.startNode("a")
	srv := httptest.NewServer(api.Handler(n, api.Config{Auth: e2eGuard(), Logger: testLogger(t)}))
	defer srv.Close()
	waitFor(t, "leadership", 10*time.Second, n.IsLeader)
	for file, want := range map[string]job.State{"etl.yaml": job.Succeeded, "diamond.yaml": job.Succeeded, "retry.yaml": job.Failed} {
		t.Run(file, func(t *testing.T) {
			spec, err := os.ReadFile(filepath.Join("../../examples", file))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("POST", srv.URL+"/v1/jobs", bytes.NewReader(spec))
			req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var created struct{ ID string }
			json.NewDecoder(resp.Body).Decode(&created)
			resp.Body.Close()
			if resp.StatusCode != 201 || created.ID == "" {
				t.Fatalf("submit %s: %d", file, resp.StatusCode)
			}
			req, _ = http.NewRequest("GET", srv.URL+"/v1/jobs/"+created.ID+"/watch", nil)
			req.Header.Set("Authorization", "Bearer "+e2eReaderToken)
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var last job.Status
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
					t.Fatal(err)
				}
			}
			if last.State != want {
				t.Fatalf("%s ended %s, want %s: %+v", file, last.State, want, last)
			}
		})
	}
}

// --executor-path: the same job runs under `gleaner executor` (custom
// executor, TaskInfo.data = gleanerpb.TaskPayload, result in TaskStatus.data).
func TestSchedulerWithGleanerExecutor(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	// Tasks run as the executor's unprivileged user: sandboxes and the
	// output directory must be reachable by it.
	work := openDir(t)
	env := newSchedEnv(t, localmesos.Config{Agents: 2, WorkDir: work})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.ExecutorPath = bin })
	out := openDir(t)
	j := submit(t, []*node.Node{n}, mustSpec(t, fmt.Sprintf(`
name: viaexec
tasks:
  - name: work
    command: "echo $GLEANER_INDEX > %[1]s/w-$GLEANER_INDEX"
    resources: {cpus: 0.5, mem: 64}
    instances: 3
  - name: fail
    command: "exit 7"
    retries: 0
    depends: [work]
`, out)))
	st, as := waitJob(t, n, j.ID, 90*time.Second)
	if st.State != job.Failed || st.Tasks[0].State != job.Succeeded {
		t.Fatalf("job %+v\nattempts %+v", st, as)
	}
	for i := 0; i < 3; i++ {
		if b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("w-%d", i))); err != nil || string(bytes.TrimSpace(b)) != fmt.Sprint(i) {
			t.Fatalf("w-%d = %q, %v", i, b, err)
		}
	}
	var fail *job.Attempt
	for i := range as {
		if as[i].Task == "fail" {
			fail = &as[i]
		}
	}
	if fail == nil || fail.ExitCode == nil || *fail.ExitCode != 7 || fail.State != job.AttemptFailed {
		t.Fatalf("fail attempt: %+v", fail)
	}
}

func openDir(t *testing.T) string {
	d, err := os.MkdirTemp(sharedHostBase(), "gleaner-sched-e2e-") // tasks have a private /tmp
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}
