package framework

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// An instance's payload carries the store, its outputs with their bounds,
// and its inputs resolved to the producer instance.
func TestArtifactsOf(t *testing.T) {
	js, err := spec.Parse([]byte(`
name: a
tasks:
  - {name: split, command: x, instances: 2, outputs: {artifacts: [{name: part, path: out/part, maxSize: 4096}]}}
  - name: work
    command: x
    instances: 2
    depends: [split]
    inputs: {artifacts: [{name: in, from: tasks.split.outputs.artifacts.part, path: in/part}]}
    outputs: {artifacts: [{name: result, path: res}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	store := &gleanerpb.ArtifactStore{Url: "dir:///srv/a"}
	var p gleanerpb.TaskPayload
	artifactsOf(&p, js, &js.Tasks[1], "work", 1, store)
	if p.ArtifactStore != store {
		t.Fatal("store not in the payload")
	}
	if len(p.ArtifactOutputs) != 1 || *p.ArtifactOutputs[0] != (gleanerpb.ArtifactOutput{Name: "result", Path: "res", MaxBytes: uint64(spec.DefaultArtifactMaxSize)}) {
		t.Fatalf("outputs %+v", p.ArtifactOutputs)
	}
	want := gleanerpb.ArtifactInput{Name: "in", Path: "in/part", FromTask: "split", FromIndex: 1, FromName: "part", MaxBytes: 4096}
	if len(p.ArtifactInputs) != 1 || *p.ArtifactInputs[0] != want {
		t.Fatalf("inputs %+v, want %+v", p.ArtifactInputs, want)
	}
}

// The artifacts of a terminal update's TaskResult reach the engine's status.
func TestToStatusKeepsArtifacts(t *testing.T) {
	r := gleanerpb.TaskResult{Artifacts: []*gleanerpb.Artifact{{Name: "out", Digest: "sha256:ab", SizeBytes: 6, Kind: "file"}}}
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st := toStatus(&mesos.TaskStatus{TaskID: mesos.TaskID{Value: "j.t.0.0"}, State: mesos.TASK_FINISHED.Enum(), Data: data})
	if len(st.Artifacts) != 1 || st.Artifacts[0] != (job.ArtifactRef{Name: "out", Digest: "sha256:ab", Size: 6, Kind: "file"}) {
		t.Fatalf("status artifacts %+v", st.Artifacts)
	}
}
