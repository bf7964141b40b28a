package engine

import (
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// A succeeded attempt keeps the artifacts its executor reported; a failed
// one keeps none.
func TestAttemptKeepsItsArtifacts(t *testing.T) {
	e := New(nil)
	e.AddJob(parsed(t, "a-1", "name: a\ntasks: [{name: p, command: x, instances: 2, retries: 0}]"))
	ls := e.Plan(big())
	if len(ls) != 2 {
		t.Fatalf("launches %+v", ls)
	}
	refs := []job.ArtifactRef{{Name: "out", Digest: "sha256:ab", Size: 6, Kind: "file"}}
	for _, l := range ls {
		id := l.Attempt.TaskID()
		apply(t, e, id, mesos.TASK_RUNNING)
		code, state := 0, mesos.TASK_FINISHED
		if l.Attempt.Index == 1 {
			code, state = 1, mesos.TASK_FAILED
		}
		o := e.Observe(Status{TaskID: id, State: state, ExitCode: &code, Artifacts: refs})
		if o.Attempt == nil {
			t.Fatalf("%s: no record", id)
		}
		want := 0
		if l.Attempt.Index == 0 {
			want = 1
		}
		if len(o.Attempt.Artifacts) != want || (want == 1 && o.Attempt.Artifacts[0] != refs[0]) {
			t.Errorf("%s (%s): artifacts %+v", id, state, o.Attempt.Artifacts)
		}
	}
}
