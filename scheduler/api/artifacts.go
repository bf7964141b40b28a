package api

import (
	"net/url"
	"path"

	"github.com/gleaner-project/gleaner/executor/artifacts"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// ArtifactView is an output artifact a succeeded attempt uploaded: its
// name, the digest and size of the stored object, and where it is — the
// object's key in the store and, when the scheduler was given the store,
// its URL (the store URL with the key appended to its path, query kept:
// dir:///srv/artifacts/jobs/J/objects/sha256/HEX,
// s3://bucket/prefix/jobs/...?endpoint=host:9000; never credentials).
type ArtifactView struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Kind   string `json:"kind,omitempty"`
	Key    string `json:"key"`
	URL    string `json:"url,omitempty"`
}

// artifactViews shows an attempt's artifacts of job jobID; storeURL is the
// scheduler's artifact store ("" if none).
func artifactViews(jobID string, refs []job.ArtifactRef, storeURL string) []ArtifactView {
	if len(refs) == 0 {
		return nil
	}
	out := make([]ArtifactView, len(refs))
	for i, r := range refs {
		key := artifacts.ObjectKey(jobID, r.Digest)
		out[i] = ArtifactView{Name: r.Name, Digest: r.Digest, Size: r.Size, Kind: r.Kind, Key: key}
		if u, err := url.Parse(storeURL); storeURL != "" && err == nil && u.User == nil {
			u.Path = path.Join("/", u.Path, key)
			out[i].URL = u.String()
		}
	}
	return out
}
