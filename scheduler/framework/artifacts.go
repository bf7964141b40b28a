package framework

import (
	"fmt"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// artifactPayload adds to an executor payload the artifact store and the
// instance's artifacts: its outputs with their bounds, its inputs resolved
// to the producer instance they come from (spec.ResolveInputs).
func (f *Framework) artifactPayload(p *gleanerpb.TaskPayload, a job.Attempt, sp *job.TaskSpec) error {
	if spec.UsesArtifacts(sp) == "" {
		return nil
	}
	if f.cfg.ArtifactStore == nil { // a job stored under another configuration
		return fmt.Errorf("refuse to launch %s: it has artifacts and the scheduler no --artifact-store", a.TaskID())
	}
	js := f.engine.JobSpec(a.Job)
	if js == nil {
		return fmt.Errorf("artifacts of %s: job not scheduled", a.TaskID())
	}
	artifactsOf(p, js, sp, a.Task, a.Index, f.cfg.ArtifactStore)
	return nil
}

// artifactsOf fills p's artifact fields for instance index of task.
func artifactsOf(p *gleanerpb.TaskPayload, js *job.Spec, sp *job.TaskSpec, task string, index int, store *gleanerpb.ArtifactStore) {
	p.ArtifactStore = store
	if sp.Outputs != nil {
		for _, o := range sp.Outputs.Artifacts {
			p.ArtifactOutputs = append(p.ArtifactOutputs, &gleanerpb.ArtifactOutput{Name: o.Name, Path: o.Path, MaxBytes: uint64(spec.OutputMaxSize(o))})
		}
	}
	for _, in := range spec.ResolveInputs(js, task, index) {
		p.ArtifactInputs = append(p.ArtifactInputs, &gleanerpb.ArtifactInput{Name: in.Name, Path: in.Path,
			FromTask: in.FromTask, FromIndex: uint64(in.FromIndex), FromName: in.FromName, MaxBytes: uint64(in.MaxSize)})
	}
}

// artifactRefs is what an attempt keeps of the artifacts its executor
// reported.
func artifactRefs(as []*gleanerpb.Artifact) []job.ArtifactRef {
	if len(as) == 0 {
		return nil
	}
	out := make([]job.ArtifactRef, 0, len(as))
	for _, a := range as {
		out = append(out, job.ArtifactRef{Name: a.Name, Digest: a.Digest, Size: int64(a.SizeBytes), Kind: a.Kind})
	}
	return out
}
