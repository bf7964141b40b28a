package e2e

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// bigAttributes gives an agent a text attribute of n bytes: every OFFERS
// event from the master and the agent's SUBSCRIBED to its executors carry
// it, as a real agent's attributes travel.
func bigAttributes(n int) string { return "rack:r1;inventory:" + strings.Repeat("x", n) }

// mesos-go reads an event stream with a 4 MiB frame limit. An agent whose
// attributes make each OFFERS event (and the executor's SUBSCRIBED) larger
// than that still runs a job: the scheduler, the Gleaner executor and the
// local Mesos' command executor read their streams with proto/recordio.
func TestSchedulerDecodesEventsOverFourMiB(t *testing.T) {
	for _, executor := range []string{"gleaner", "command"} {
		t.Run(executor, func(t *testing.T) {
			var opts []func(*node.Config)
			if executor == "gleaner" {
				execNeedRoot(t)
				bin := execGleanerBinary(t)
				opts = append(opts, func(c *node.Config) { c.Framework.ExecutorPath = bin })
			}
			env := newSchedEnv(t, localmesos.Config{Agents: 1, Attributes: bigAttributes(5 << 20), WorkDir: openDir(t)})
			n, _ := env.startNode("a", opts...)
			j := submit(t, []*node.Node{n}, mustSpec(t, `
name: big-offers
tasks:
  - name: t
    command: "true"
    resources: {cpus: 0.5, mem: 32}
    instances: 2
    constraints: [[rack, IS, r1]]
`))
			st, _ := waitJob(t, n, j.ID, 60*time.Second)
			if st.State != job.Succeeded {
				t.Fatalf("job %s: %+v", st.State, st)
			}
		})
	}
}

// An event over --max-event-bytes ends the subscription with an error
// naming the limit, the size and the flag; the scheduler logs it and
// resubscribes (and meets the event again until the limit is raised).
func TestSchedulerEventOverLimitLogsAndResubscribes(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 1, Attributes: bigAttributes(2 << 20)})
	var logs lockedBuffer // isolation_test.go
	n, _ := env.startNode("a", func(c *node.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Framework.MaxEventBytes = 1 << 20
	})
	const want = "over the limit of 1048576 bytes; raise it with --max-event-bytes"
	waitFor(t, "the error logged twice and a resubscription", 30*time.Second, func() bool {
		return strings.Count(logs.String(), want) >= 2 && n.Subscriptions() >= 2
	})
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, want) {
			if !strings.Contains(line, "mesos subscription ended") || !strings.Contains(line, "recordio: event of ") {
				t.Errorf("log line %q: want the subscription ending with the event's size", line)
			}
		}
		if strings.Contains(line, "token too long") {
			t.Errorf("log line %q: mesos-go's reader is still in use", line)
		}
	}
}
