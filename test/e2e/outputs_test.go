package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// startOutputsNode starts a scheduler whose tasks run under the Gleaner
// executor (output parameters are read by it).
func startOutputsNode(t *testing.T, agents int) *node.Node {
	t.Helper()
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	env := newSchedEnv(t, localmesos.Config{Agents: agents, WorkDir: openDir(t)})
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.ExecutorPath = bin })
	return n
}

func logAttempts(t *testing.T, as []job.Attempt) {
	t.Helper()
	for _, a := range as {
		t.Logf("%s: %s %s %q outputs %v", a.TaskID(), a.State, a.Reason, a.Message, a.Outputs)
	}
}

// examples/outputs.yaml with real executors: split's three instances write
// their outputs, count receives them aggregated and per instance (and
// writes its own from them), big runs on count's total, small is skipped.
func TestOutputsPassDownstream(t *testing.T) {
	n := startOutputsNode(t, 2)
	j := submit(t, []*node.Node{n}, example(t, "outputs.yaml"))
	st, as := waitBatch(t, n, j.ID, 90*time.Second)
	if st.State != job.Succeeded {
		logAttempts(t, as)
		t.Fatalf("job %s: %+v", st.State, st)
	}
	m := byTask(as)
	for _, a := range m["split"] {
		if want := map[int]string{0: "0", 1: "10", 2: "20"}[a.Index]; a.Outputs["rows"] != want {
			t.Errorf("split/%d outputs %v, want rows=%s", a.Index, a.Outputs, want)
		}
	}
	if c := m["count"]; len(c) != 1 || c[0].Outputs["total"] != "30" || c[0].Outputs["second"] != "part-1" {
		logAttempts(t, as)
		t.Fatalf("count: %+v", c)
	}
	if got := taskStatus(st, "big"); got.State != job.Succeeded {
		t.Errorf("big: %+v", got)
	}
	if got := taskStatus(st, "small"); got.State != job.Skipped || !strings.Contains(got.Reason, "when is false") {
		t.Errorf("small: %+v", got)
	}
}

// examples/coinflip.yaml: flip runs again while it says tails, each round
// an attempt; the last says heads (or the limit of 10 was reached: 1 in
// 1,024), and heads runs only after heads.
func TestCoinFlipUntilHeads(t *testing.T) {
	n := startOutputsNode(t, 1)
	j := submit(t, []*node.Node{n}, example(t, "coinflip.yaml"))
	st, as := waitBatch(t, n, j.ID, 120*time.Second)
	if st.State != job.Succeeded {
		logAttempts(t, as)
		t.Fatalf("job %s: %+v", st.State, st)
	}
	flips := byTask(as)["flip"]
	last := flips[len(flips)-1]
	for _, a := range flips[:len(flips)-1] {
		if a.Outputs["result"] != "tails" || a.Verdict != job.VerdictAgain {
			t.Errorf("an earlier round: %+v", a)
		}
	}
	switch {
	case last.Outputs["result"] == "heads":
		if got := taskStatus(st, "heads"); got.State != job.Succeeded || last.Verdict != job.VerdictDone {
			t.Errorf("heads after heads: %+v, last flip %+v", got, last)
		}
	case len(flips) == 10:
		t.Logf("ten tails in a row (1 in 1,024)")
	default:
		logAttempts(t, as)
		t.Fatalf("flip ended on %v after %d rounds", last.Outputs, len(flips))
	}
}

// An output past its bound fails the attempt naming the output and the
// bound; a downstream reference to an output never written skips the task
// naming it.
func TestOutputBoundsAndMissingOutputs(t *testing.T) {
	n := startOutputsNode(t, 1)
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: bounds
tasks:
  - {name: huge, retries: 0, command: 'head -c 5000 /dev/zero | tr "\0" x > "$GLEANER_OUTPUTS/blob"'}
  - {name: quiet, command: "true"}
  - {name: after, depends: [quiet], env: {V: "{{tasks.quiet.outputs.parameters.nothing}}"}, command: "true"}
`))
	st, as := waitBatch(t, n, j.ID, 90*time.Second)
	m := byTask(as)
	if h := m["huge"]; len(h) != 1 || h[0].State != job.AttemptFailed || !strings.Contains(h[0].Message, `output "blob": larger than 4096 bytes`) {
		logAttempts(t, as)
		t.Fatalf("huge: %+v", h)
	}
	if got := taskStatus(st, "after"); got.State != job.Skipped || !strings.Contains(got.Reason, `task quiet left no output "nothing"`) {
		t.Fatalf("after: %+v", got)
	}
}

// examples/fanout.yaml: gen's JSON list fans process out into three
// instances, each with its item; merge receives their outputs as a list.
func TestFanOutFromAnOutput(t *testing.T) {
	n := startOutputsNode(t, 2)
	j := submit(t, []*node.Node{n}, example(t, "fanout.yaml"))
	st, as := waitBatch(t, n, j.ID, 90*time.Second)
	if st.State != job.Succeeded {
		logAttempts(t, as)
		t.Fatalf("job %s: %+v", st.State, st)
	}
	if p := taskStatus(st, "process"); p.Instances != 3 || p.Counts.Succeeded != 3 {
		t.Fatalf("process: %+v", p)
	}
	m := byTask(as)
	for _, a := range m["process"] {
		if want := []string{"eu:3", "us:5", "asia:2"}[a.Index]; a.Outputs["done"] != want {
			t.Errorf("process/%d outputs %v, want done=%s", a.Index, a.Outputs, want)
		}
	}
	if mg := m["merge"]; len(mg) != 1 || mg[0].Outputs["all"] != `["eu:3","us:5","asia:2"]` {
		t.Fatalf("merge: %+v", mg)
	}
}

// examples/depends-outputs.yaml with real executors: depends expressions
// read check's outputs (publish runs, alert is skipped); probe failed, so
// its output does not exist: retry-probe is skipped naming it, fallback
// (probe.failed || ...) runs.
func TestDependsOnOutputs(t *testing.T) {
	n := startOutputsNode(t, 1)
	j := submit(t, []*node.Node{n}, example(t, "depends-outputs.yaml"))
	st, as := waitBatch(t, n, j.ID, 90*time.Second)
	if st.State != job.Succeeded {
		logAttempts(t, as)
		t.Fatalf("job %s: %+v", st.State, st)
	}
	if c := byTask(as)["check"]; len(c) != 1 || c[0].Outputs["status"] != "ok" || c[0].Outputs["size"] != "7" {
		t.Fatalf("check: %+v", c)
	}
	for _, c := range []struct {
		task   string
		state  job.State
		reason string
	}{
		{"publish", job.Succeeded, ""},
		{"alert", job.Skipped, "depends can no longer hold"},
		{"probe", job.Failed, ""},
		{"retry-probe", job.Skipped, "probe.outputs.parameters.ready does not exist: task probe failed"},
		{"fallback", job.Succeeded, ""},
	} {
		if got := taskStatus(st, c.task); got.State != c.state || !strings.Contains(got.Reason, c.reason) {
			t.Errorf("%s: %+v, want %s …%s…", c.task, got, c.state, c.reason)
		}
	}
}
