package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A succeeded 3,000-instance array is folded: etcd keeps one range in the
// job record instead of 3,000 attempt records; the status is unchanged and
// a new leader does not run anything again.
func TestBatchFoldSucceededArray(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3, Simulated: true, Resources: "cpus:64;mem:65536;disk:1024"})
	fold := func(c *node.Config) { c.FoldMinInstances = 1000; c.FoldInterval = 200 * time.Millisecond }
	a, stopA := env.startNode("a", fold)
	waitFor(t, "a to lead", 10*time.Second, a.IsLeader)
	b, _ := env.startNode("b", fold)
	j := submit(t, []*node.Node{a}, mustSpec(t, `
name: fold
tasks:
  - name: part
    command: "true"
    instances: 3000
    resources: {cpus: 0.1, mem: 32}
    labels: {"localmesos.sim/duration": "1ms"}
  - name: small
    command: "true"
    depends: [part]
    labels: {"localmesos.sim/duration": "1ms"}
`))
	st, as := waitBatch(t, a, j.ID, 120*time.Second)
	// The fold may already be running when the watch first sees the job
	// succeeded (it runs every 200 ms and deletes the folded records a
	// page at a time): anywhere from all 3,001 records to none, the counts
	// the same throughout.
	if st.State != job.Succeeded || taskStatus(st, "part").Counts.Succeeded != 3000 || taskStatus(st, "small").Counts.Succeeded != 1 ||
		len(as) > 3001 {
		t.Fatalf("job %s, counts %+v, %d attempts", st.State, st.Tasks, len(as))
	}
	cli := env.client()
	keys := func() int64 {
		resp, err := cli.Get(context.Background(), env.prefix+"attempts/"+j.ID+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	waitFor(t, "the job folded", 30*time.Second, func() bool { return keys() == 0 })
	got, err := a.Store().GetJob(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Folded["part"]; len(r) != 1 || r[0] != (job.Range{From: 0, To: 3000}) {
		t.Fatalf("folded %+v", got.Folded)
	}
	after, as := bstatus(t, a, j.ID)
	if after.State != job.Succeeded || after.Tasks[0].Counts.Succeeded != 3000 || after.Tasks[1].Counts.Succeeded != 1 || len(as) != 0 {
		t.Fatalf("after folding: %+v, %d records", after, len(as))
	}
	finished := env.mesos.Master().Metrics()["master/tasks_finished"]
	stopA()
	waitFor(t, "b to lead", 20*time.Second, b.IsLeader)
	if b.Scheduling(j.ID) {
		t.Fatal("the new leader schedules the folded job again")
	}
	if got := env.mesos.Master().Metrics()["master/tasks_finished"]; got != finished {
		t.Fatalf("mesos finished %v tasks after failover, %v before", got, finished)
	}
}
