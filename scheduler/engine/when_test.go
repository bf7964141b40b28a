package engine

import (
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/jobstatus"
)

// Issue 10 finding 8: a job whose when failed when evaluated stayed
// pending forever with no reason. Submit now refuses such a condition; a
// job stored before has the task skipped with the error as its reason.
func TestDeriveSkipsATaskWhoseWhenFails(t *testing.T) {
	j := parsed(t, "w-1", `
name: w
params: {shards: "8"}
tasks:
- {name: big, command: x, when: int(params.shards) > 4}
`)
	j.Spec.Params = map[string]string{"shards": "many"} // as stored before the submit check
	st := jobstatus.Derive(j, nil)
	if ts := st.Tasks[0]; ts.State != job.Skipped || !strings.Contains(ts.Reason, `when "int(params.shards) > 4" failed`) {
		t.Fatalf("task %+v", ts)
	}
	if st.State == job.Pending {
		t.Fatalf("job still pending: %+v", st)
	}
}
