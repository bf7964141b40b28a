package framework

import (
	"testing"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
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
