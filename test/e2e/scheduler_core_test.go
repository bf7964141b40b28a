package e2e

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
)

const tenThenOne = `
name: etl
tasks:
  - name: extract
    command: "true"
    resources: {cpus: 0.5, mem: 64}
    instances: 10
  - name: load
    command: "true"
    resources: {cpus: 0.5, mem: 64}
    depends: [extract]
`

func TestSchedulerTenInstancesThenDependent(t *testing.T) {
	env := newSchedEnv(t, localmesos.Config{Agents: 3})
	n, _ := env.startNode("a")
	j := submit(t, []*node.Node{n}, mustSpec(t, tenThenOne))
	st, as := waitJob(t, n, j.ID, 60*time.Second)
	if st.State != job.Succeeded {
		t.Fatalf("job state %s: %+v", st.State, st)
	}
	if st.Tasks[0].Counts.Succeeded != 10 || st.Tasks[1].Counts.Succeeded != 1 {
		t.Fatalf("counts: %+v", st.Tasks)
	}
	var lastExtract, firstLoad time.Time
	for _, a := range as {
		if a.State != job.AttemptSucceeded || a.Attempt != 0 || a.Hostname == "" {
			t.Errorf("attempt %s: %+v", a.TaskID(), a)
		}
		if a.Task == "extract" && a.Ended.After(lastExtract) {
			lastExtract = a.Ended
		}
		if a.Task == "load" {
			firstLoad = a.Created
		}
	}
	if firstLoad.Before(lastExtract) {
		t.Errorf("load launched at %s before extract finished at %s", firstLoad, lastExtract)
	}
}
