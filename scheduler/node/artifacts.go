package node

import (
	"context"

	"github.com/gleaner-project/gleaner/executor/artifacts"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

// deleteArtifacts removes a job's artifacts from the store (every key under
// jobs/<id>/), when its records go; nothing without a store.
func deleteArtifacts(ctx context.Context, s *gleanerpb.ArtifactStore, jobID string) error {
	if s == nil {
		return nil
	}
	st, err := artifacts.Open(artifacts.Config{URL: s.Url, AccessKeyID: s.AccessKeyId, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken})
	if err != nil {
		return err
	}
	return st.DeletePrefix(ctx, artifacts.JobPrefix(jobID))
}
