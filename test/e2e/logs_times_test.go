package e2e

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// `job logs --timestamps` and `--since` with the Gleaner executor, which
// records when each line began (issue 13); the command executor records
// none, and says so.
func TestBatchLogsTimestamps(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Hostnames: []string{"127.0.0.1"}, WorkDir: openDir(t)})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.ExecutorPath = bin })
	srv := httptest.NewServer(api.Handler(n, api.Config{Auth: e2eGuard(), Logger: testLogger(t)}))
	t.Cleanup(srv.Close)
	before := time.Now().Add(-time.Second)
	j := submit(t, []*node.Node{n}, mustSpec(t, `name: stamped
tasks:
  - name: talk
    retries: 0
    resources: {cpus: 0.1, mem: 32}
    command: "echo one; echo two"
`))
	if st, as := waitBatch(t, n, j.ID, 60*time.Second); st.State != job.Succeeded {
		t.Fatalf("job %s: %+v %+v", st.State, st, as)
	}
	after := time.Now().Add(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := logsCLI(ctx, t, bin, srv.URL, j.ID, "talk/0", "--timestamps").Output()
	if err != nil {
		t.Fatalf("--timestamps: %v", err)
	}
	line := regexp.MustCompile(`^(\S+) (one|two)$`)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("--timestamps: %q, want two lines", out)
	}
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q: want TIME TEXT", l)
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil || at.Before(before) || at.After(after) {
			t.Fatalf("line %q: time %v (%v), want between %v and %v", l, at, err, before, after)
		}
	}
	// Everything was written before now: --since 0s shows nothing, a
	// time before the job shows it all.
	if out, err := logsCLI(ctx, t, bin, srv.URL, j.ID, "talk/0", "--since", "0s").Output(); err != nil || len(out) != 0 {
		t.Fatalf("--since 0s: %q, %v", out, err)
	}
	if out, err := logsCLI(ctx, t, bin, srv.URL, j.ID, "talk/0", "--since", before.UTC().Format(time.RFC3339Nano)).Output(); err != nil || string(out) != "one\ntwo\n" {
		t.Fatalf("--since before the job: %q, %v", out, err)
	}
}
