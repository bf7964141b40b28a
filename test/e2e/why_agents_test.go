package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

// Why-pending accounts for every agent, and /healthz names the host whose
// silent monitor keeps work off it (issue 13): two agents, a monitor
// on one only. Before, the pending task showed "monitor silent ×1" and the
// other agent (busy with the task's own instances) was not counted.
func TestWhyPendingCountsEveryAgent(t *testing.T) {
	env := simEnv(t, 2, localmesos.Config{Resources: "cpus(batch):1;mem(batch):1024;cpus:3;mem:3072;disk:1024"})
	cli := env.client()
	if _, err := cli.Put(context.Background(), env.prefix+"monitors/local-agent-1", `{"hostname":"local-agent-1"}`); err != nil {
		t.Fatal(err)
	}
	n, _ := env.startNode("a", func(c *node.Config) { c.Framework.RequireMonitor = true })
	base := placementAPI(t, n)
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: why-agents
tasks:
  - name: a
    command: "true"
    instances: 3
    resources: {cpus: 0.5, mem: 32}
    labels: {"localmesos.sim/duration": "3s"}
`))
	var v api.JobView
	waitFor(t, "one instance pending, explained", 20*time.Second, func() bool {
		v = api.JobView{}
		call(t, "GET", base+"/v1/jobs/"+j.ID, "", "", &v)
		return len(v.Tasks) == 1 && v.Tasks[0].Counts.Pending > 0 && v.Tasks[0].Why != nil && v.Tasks[0].Counts.Running == 2
	})
	w := v.Tasks[0].Why
	sum := 0
	for _, r := range w.Reasons {
		sum += r.Count
	}
	t.Logf("why: %+v", w)
	if w.Agents != 2 || sum != 2 || !hasReason(w.Reasons, "monitor silent") {
		t.Fatalf("why = %+v: want both agents accounted (monitor silent and the other)", w)
	}
	// /healthz names the host the requirement blocks, and stays 200.
	var h api.Health
	if code := call(t, "GET", base+"/healthz", "", "", &h); code != 200 || h.Monitors == nil || !h.Monitors.Required ||
		len(h.Monitors.Silent) != 1 || h.Monitors.Silent[0] != "local-agent-2" {
		t.Fatalf("healthz %d: monitors %+v, want required, silent [local-agent-2]", code, h.Monitors)
	}
}
