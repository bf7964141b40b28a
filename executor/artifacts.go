package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/executor/artifacts"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

// Artifacts (issue 14): before a task starts, the executor fetches its
// input artifacts from the store the payload names into the sandbox
// (verified by digest, bounded, owned by the task's uid); when it
// succeeded, it uploads its output artifacts and reports them in
// TaskResult.artifacts. The store's credentials stay in the executor: they
// are in the payload, never in the task's environment or sandbox.

// artifactTransferTimeout bounds all the fetches, or all the uploads, of
// one attempt.
const artifactTransferTimeout = 30 * time.Minute

// defaultArtifactMaxBytes is the bound of an artifact whose payload gives
// none (the spec's default, scheduler/spec.DefaultArtifactMaxSize).
const defaultArtifactMaxBytes = 1 << 30

func artifactBound(b uint64) int64 {
	if b == 0 || b > 1<<40 {
		return defaultArtifactMaxBytes
	}
	return int64(b)
}

// artifactStore opens the payload's store, if the task has artifacts.
func artifactStore(p *gleanerpb.TaskPayload) (artifacts.Store, error) {
	if len(p.ArtifactInputs) == 0 && len(p.ArtifactOutputs) == 0 {
		return nil, nil
	}
	s := p.ArtifactStore
	if s == nil || s.Url == "" {
		return nil, errors.New("artifacts: the task has artifacts but the scheduler has no --artifact-store")
	}
	st, err := artifacts.Open(artifacts.Config{URL: s.Url, AccessKeyID: s.AccessKeyId, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken})
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	return st, nil
}

// transferContext is done after the transfer timeout or once the task is
// stopped (killed, shut down).
func transferContext(t *task) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), artifactTransferTimeout)
	go func() {
		select {
		case <-t.stopped:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// fetchInputs fetches the task's input artifacts into its sandbox sb.
func fetchInputs(t *task, sb string, uid, gid uint32) error {
	p := t.payload
	if len(p.ArtifactInputs) == 0 {
		return nil
	}
	st, err := artifactStore(p)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(sb)
	if err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	defer root.Close()
	ctx, cancel := transferContext(t)
	defer cancel()
	for _, in := range p.ArtifactInputs {
		if err := fetchInput(ctx, st, root, t.dir, p.JobId, in, uid, gid); err != nil {
			return fmt.Errorf("artifact input %q (tasks.%s.outputs.artifacts.%s of instance %d): %w",
				in.Name, in.FromTask, in.FromName, in.FromIndex, err)
		}
	}
	return nil
}

func fetchInput(ctx context.Context, st artifacts.Store, root *os.Root, tmpDir, jobID string, in *gleanerpb.ArtifactInput, uid, gid uint32) error {
	max := artifactBound(in.MaxBytes)
	f, ref, err := artifacts.Download(ctx, st, jobID, in.FromTask, in.FromIndex, in.FromName, max, tmpDir)
	if errors.Is(err, artifacts.ErrNotFound) {
		return fmt.Errorf("not in the artifact store (did that instance succeed and upload it?): %w", err)
	}
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return artifacts.Unpack(root, in.Path, f, ref, max, int(uid), int(gid))
}

// uploadOutputs uploads a finished task's output artifacts and records them
// in res; a failed upload (missing file, a bound exceeded, the store
// unreachable) fails the task with the error as its message.
func uploadOutputs(t *task, res *gleanerpb.TaskResult, state mesos.TaskState, msg string) (mesos.TaskState, string) {
	p := t.payload
	if len(p.ArtifactOutputs) == 0 {
		return state, msg
	}
	if err := uploadAll(t, res); err != nil {
		return mesos.TASK_FAILED, err.Error()
	}
	return state, msg
}

func uploadAll(t *task, res *gleanerpb.TaskResult) error {
	p := t.payload
	st, err := artifactStore(p)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(t.sandboxDir())
	if err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	defer root.Close()
	ctx, cancel := transferContext(t)
	defer cancel()
	for _, out := range p.ArtifactOutputs {
		a, err := uploadOutput(ctx, st, root, t.dir, p, out)
		if err != nil {
			return fmt.Errorf("artifact output %q (%s): %w", out.Name, out.Path, err)
		}
		res.Artifacts = append(res.Artifacts, a)
	}
	return nil
}

func uploadOutput(ctx context.Context, st artifacts.Store, root *os.Root, tmpDir string, p *gleanerpb.TaskPayload, out *gleanerpb.ArtifactOutput) (*gleanerpb.Artifact, error) {
	f, ref, err := artifacts.Pack(root, out.Path, artifactBound(out.MaxBytes), tmpDir)
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := artifacts.Upload(ctx, st, p.JobId, p.TaskName, p.Index, out.Name, f, ref); err != nil {
		return nil, err
	}
	return &gleanerpb.Artifact{Name: out.Name, Digest: ref.Digest, SizeBytes: uint64(ref.Size), Kind: ref.Kind}, nil
}

// sandboxDir is the host path of the task's sandbox.
func (t *task) sandboxDir() string { return filepath.Join(t.dir, "sandbox") }
