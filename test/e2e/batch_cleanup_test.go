package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Each cleanup policy with the Gleaner executor: a succeeded and a failed
// instance per policy; afterwards each attempt's sandbox in the agent's
// work dir is removed or kept as the policy says (stdout stays).
func TestBatchCleanupPolicies(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	work := openDir(t)
	env := newSchedEnv(t, localmesos.Config{Agents: 2, WorkDir: work})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.ExecutorPath = bin })
	var b strings.Builder
	b.WriteString("name: cleanup\ntasks:\n")
	policies := map[string]string{"rfin": "remove-finished", "rfail": "remove-failed", "rall": "remove-all", "rnone": "remove-none"}
	for short, p := range policies {
		b.WriteString("  - {name: " + short + "-ok, command: \"echo out\", cleanup: " + p + ", resources: {cpus: 0.1, mem: 32}}\n")
		b.WriteString("  - {name: " + short + "-bad, command: \"exit 1\", retries: 0, continueOn: true, cleanup: " + p + ", resources: {cpus: 0.1, mem: 32}}\n")
	}
	j := submit(t, []*node.Node{n}, mustSpec(t, b.String()))
	st, as := waitBatch(t, n, j.ID, 90*time.Second)
	if st.State != job.Succeeded || len(as) != 8 {
		t.Fatalf("job %s (%d attempts): %+v", st.State, len(as), st)
	}
	// task dir of each attempt: <executor sandbox>/tasks/<task id>
	dirs := map[string]string{}
	err := filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && filepath.Base(filepath.Dir(p)) == "tasks" && strings.HasPrefix(d.Name(), j.ID+".") {
			dirs[d.Name()] = p
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{ // sandbox removed?
		"rfin-ok": true, "rfin-bad": false, "rfail-ok": false, "rfail-bad": true,
		"rall-ok": true, "rall-bad": true, "rnone-ok": false, "rnone-bad": false,
	}
	for _, a := range as {
		dir, ok := dirs[a.TaskID()]
		if !ok {
			t.Errorf("%s: no task dir under %s", a.TaskID(), work)
			continue
		}
		_, err := os.Stat(filepath.Join(dir, "sandbox"))
		removed := os.IsNotExist(err)
		if removed != want[a.Task] {
			t.Errorf("%s (%s): sandbox removed %v, want %v", a.Task, a.State, removed, want[a.Task])
		}
		if _, err := os.Stat(filepath.Join(dir, "stdout")); err != nil {
			t.Errorf("%s: stdout gone: %v", a.Task, err)
		}
	}
}
