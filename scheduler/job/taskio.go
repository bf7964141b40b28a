package job

// TaskOutputs is what a task leaves for the tasks after it: artifacts
// (files uploaded to the artifact store when it succeeds). Output
// parameters (issue 14) belong in this block too.
type TaskOutputs struct {
	Artifacts []OutputArtifact `json:"artifacts,omitempty"`
}

// OutputArtifact is a file or directory of the task's sandbox uploaded
// under Name when an instance succeeds.
type OutputArtifact struct {
	Name string `json:"name"`
	// Path is relative to the task's sandbox; a directory is uploaded as a
	// gzipped tar.
	Path string `json:"path"`
	// MaxSize bounds the uploaded object in bytes (0 = the default).
	MaxSize int64 `json:"maxSize,omitempty"`
}

// TaskInputs is what a task takes from the tasks before it.
type TaskInputs struct {
	Artifacts []InputArtifact `json:"artifacts,omitempty"`
}

// InputArtifact is an upstream task's output artifact fetched into the
// sandbox before the task starts.
type InputArtifact struct {
	Name string `json:"name"`
	// From is "tasks.<task>.outputs.artifacts.<name>".
	From string `json:"from"`
	// Path is relative to the task's sandbox.
	Path string `json:"path"`
}

// ArtifactRef is an output artifact a succeeded attempt uploaded, as its
// executor reported it.
type ArtifactRef struct {
	Name   string `json:"name"`
	Digest string `json:"digest"` // sha256:<hex> of the stored object
	Size   int64  `json:"size"`   // bytes of the stored object
	Kind   string `json:"kind,omitempty"`
}
