package e2e

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// A diamond a → (b, c) → d with an expression, real processes: b fails its
// first attempt and is retried after its backoff; c's exit 3 is ignored by
// its failure policy; d runs once both ended well; e (b.failed) and f
// (when false) are skipped; the job succeeds.
const diamond = `
name: diamond
params: {env: dev}
tasks:
  - name: a
    command: "true"
  - name: b
    command: '[ "$GLEANER_ATTEMPT" -ge 1 ]'
    depends: [a]
    retries: {limit: 2, backoff: {delay: 400ms, factor: 2, max: 2s}}
  - name: c
    command: "exit 3"
    depends: [a]
    onFailure: [{action: ignore, exitCodes: [3]}]
  - name: d
    command: "true"
    depends: "b && c.succeeded"
  - name: e
    command: "true"
    depends: "b.failed"
  - name: f
    command: "true"
    depends: [a]
    when: params.env == "prod"
`

func TestBatchDiamondDAG(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 2})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, diamond))
	st, as := waitBatch(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job %s: %+v", st.State, st)
	}
	want := map[string]job.State{"a": job.Succeeded, "b": job.Succeeded, "c": job.Succeeded, "d": job.Succeeded, "e": job.Skipped, "f": job.Skipped}
	for name, s := range want {
		if got := taskStatus(st, name); got.State != s {
			t.Errorf("task %s: %s (%s), want %s", name, got.State, got.Reason, s)
		}
	}
	m := byTask(as)
	b := m["b"]
	if len(b) != 2 || b[0].Verdict != job.VerdictAgain || b[1].Verdict != job.VerdictDone || *b[0].ExitCode != 1 {
		t.Fatalf("b attempts: %+v", b)
	}
	if gap := b[1].Created.Sub(b[0].Ended); gap < 400*time.Millisecond {
		t.Errorf("b retried %v after its failure, backoff is 400ms", gap)
	}
	if c := m["c"]; len(c) != 1 || c[0].Verdict != job.VerdictDone || *c[0].ExitCode != 3 {
		t.Errorf("c attempts: %+v", c)
	}
	d := m["d"]
	if len(d) != 1 || d[0].Created.Before(b[1].Ended) || d[0].Created.Before(m["c"][0].Ended) {
		t.Errorf("d launched before b and c ended: %+v", d)
	}
	if len(m["e"]) != 0 || len(m["f"]) != 0 {
		t.Errorf("skipped tasks ran: %+v %+v", m["e"], m["f"])
	}
}
