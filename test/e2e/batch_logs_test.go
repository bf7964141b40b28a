package e2e

import (
	"bufio"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// `gleaner job logs` against local Mesos: the scheduler finds the attempt's
// agent, its sandbox in the agent's /state and reads /files/read, with real
// command-executor processes and with the Gleaner executor.

func logsCLI(ctx context.Context, t *testing.T, bin, apiURL string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"job", "logs", "--api", apiURL, "--token", e2eReaderToken}, args...)...)
	cmd.Env = append(os.Environ(), "GLEANER_API=")
	return cmd
}

func TestBatchLogs(t *testing.T) {
	bin := execGleanerBinary(t)
	for _, tc := range []struct {
		name     string
		executor bool
	}{{"command executor", false}, {"gleaner executor", true}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.executor {
				execNeedRoot(t)
			}
			// The agent's hostname resolves (the scheduler reaches agents by
			// their offer url or GET_AGENTS pid, as with real Mesos).
			cfg := localmesos.Config{Agents: 1, Hostnames: []string{"127.0.0.1"}}
			if tc.executor {
				cfg.WorkDir = openDir(t) // the executor's tasks run as another user
			}
			env := newSchedEnv(t, cfg)
			n, _ := env.startNode("a", func(c *node.Config) {
				if tc.executor {
					c.Framework.ExecutorPath = bin
				}
			})
			srv := httptest.NewServer(api.Handler(n, api.Config{Auth: e2eGuard(), Logger: testLogger(t)}))
			t.Cleanup(srv.Close)
			j := submit(t, []*node.Node{n}, mustSpec(t, `name: logs
tasks:
  - name: talk
    instances: 2
    retries: 0
    resources: {cpus: 0.1, mem: 32}
    command: "echo out-$GLEANER_INDEX; echo err-$GLEANER_INDEX >&2; echo done-$GLEANER_INDEX"
`))
			if st, as := waitBatch(t, n, j.ID, 60*time.Second); st.State != job.Succeeded {
				t.Fatalf("job %s: %+v %+v", st.State, st, as)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{j.ID, "talk/1"}, "out-1\ndone-1\n"},
				{[]string{j.ID, "talk"}, "talk/0| out-0\ntalk/0| done-0\ntalk/1| out-1\ntalk/1| done-1\n"}, // every instance, prefixed
				{[]string{"--stderr", j.ID, "talk/1"}, "err-1\n"},
				{[]string{"--attempt", "0", "--stderr", j.ID, "talk/0"}, "err-0\n"},
			} {
				out, err := logsCLI(ctx, t, bin, srv.URL, c.args...).Output()
				if err != nil || string(out) != c.want {
					t.Errorf("logs %v: %q, %v; want %q", c.args, out, err, c.want)
				}
			}
			// An attempt that does not exist: a clear error and a failing exit.
			out, err := logsCLI(ctx, t, bin, srv.URL, "--attempt", "5", j.ID, "talk/0").CombinedOutput()
			if err == nil || !strings.Contains(string(out), "no attempt 5") || !strings.Contains(string(out), "field attempt") {
				t.Errorf("missing attempt: %q, %v", out, err)
			}
		})
	}
}

// --follow streams a running task's output as it is written and ends when
// the attempt does. The task waits for a file the test creates after it has
// seen the first line, so the second line is written while the stream is
// open.
func TestBatchLogsFollow(t *testing.T) {
	bin := execGleanerBinary(t)
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Hostnames: []string{"127.0.0.1"}})
	n, _ := env.startNode("a")
	srv := httptest.NewServer(api.Handler(n, api.Config{Auth: e2eGuard(), Logger: testLogger(t)}))
	t.Cleanup(srv.Close)
	gate := filepath.Join(t.TempDir(), "go")
	j := submit(t, []*node.Node{n}, mustSpec(t, `name: follow
tasks:
  - name: slow
    retries: 0
    resources: {cpus: 0.1, mem: 32}
    command: "echo start; while [ ! -e `+gate+` ]; do sleep 0.05; done; echo end"
`))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Started before the instance is placed: the API waits for its attempt.
	cmd := logsCLI(ctx, t, bin, srv.URL, "--follow", j.ID, "slow/0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(stdout)
	if line, err := rd.ReadString('\n'); err != nil || line != "start\n" {
		t.Fatalf("first line %q, %v (stderr %s)", line, err, stderr.String())
	}
	if st, _ := bstatus(t, n, j.ID); st.State.Terminal() {
		t.Fatalf("job ended before the gate opened: %s", st.State)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if line, err := rd.ReadString('\n'); err != nil || line != "end\n" {
		t.Fatalf("second line %q, %v (stderr %s)", line, err, stderr.String())
	}
	// The attempt ends, so does the stream, with exit 0.
	if rest, err := rd.ReadString('\n'); rest != "" || err == nil {
		t.Fatalf("after the end: %q, %v", rest, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logs --follow: %v (stderr %s)", err, stderr.String())
	}
	if st, _ := waitBatch(t, n, j.ID, 30*time.Second); st.State != job.Succeeded {
		t.Fatalf("job %s", st.State)
	}
}
