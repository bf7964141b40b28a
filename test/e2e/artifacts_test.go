package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/executor/artifacts"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/test/localmesos"
	"github.com/gleaner-project/gleaner/test/s3server/s3run"
)

// examples/artifacts.yaml on the local Mesos with real executors: produce
// writes a file and a directory, both instances of consume receive them
// (the job succeeds only if their content arrived), once through a shared
// directory store and once through an S3 server process.
func TestArtifactsPassBetweenTasks(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	stores := []struct {
		name string
		open func(t *testing.T) *gleanerpb.ArtifactStore
	}{
		{"dir", func(t *testing.T) *gleanerpb.ArtifactStore {
			return &gleanerpb.ArtifactStore{Url: "dir://" + filepath.Join(t.TempDir(), "artifacts")}
		}},
		{"s3", func(t *testing.T) *gleanerpb.ArtifactStore {
			srv := s3run.Start(t, "gleaner-artifacts")
			return &gleanerpb.ArtifactStore{Url: srv.URL("e2e"), AccessKeyId: "e2e-key", SecretAccessKey: "e2e-secret"}
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			store := s.open(t)
			env := newSchedEnv(t, localmesos.Config{Agents: 2, WorkDir: openDir(t)})
			n, _ := env.startNode("a", func(c *node.Config) {
				c.Framework.ExecutorPath = bin
				c.Framework.ArtifactStore = store
			})
			j := submit(t, []*node.Node{n}, example(t, "artifacts.yaml"))
			st, as := waitBatch(t, n, j.ID, 90*time.Second)
			if st.State != job.Succeeded {
				for _, a := range as {
					t.Logf("%s: %s %s %q", a.TaskID(), a.State, a.Reason, a.Message)
				}
				t.Fatalf("job %s: %+v", st.State, st)
			}
			if c := taskStatus(st, "consume").Counts; c.Succeeded != 2 {
				t.Fatalf("consume counts %+v", c)
			}
			// The producer's attempt keeps what it uploaded.
			for _, a := range as {
				if a.Task == "produce" && (len(a.Artifacts) != 2 || a.Artifacts[0].Name != "greeting" ||
					!strings.HasPrefix(a.Artifacts[0].Digest, "sha256:") || a.Artifacts[1].Kind != artifacts.KindTarGz) {
					t.Errorf("produce's attempt artifacts %+v", a.Artifacts)
				}
			}
			// The objects are in the store, under the job's prefix.
			cfg := artifacts.Config{URL: store.Url, AccessKeyID: store.AccessKeyId, SecretAccessKey: store.SecretAccessKey}
			st2, err := artifacts.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := st2.Get(t.Context(), artifacts.RefKey(j.ID, "produce", 0, "greeting"))
			if err != nil {
				t.Fatalf("ref of produce's greeting: %v", err)
			}
			rc.Close()
		})
	}
}

// A stored object corrupted between the producer's upload and the
// consumer's start fails the consumer's fetch with a digest mismatch, in
// words, before the task runs.
func TestArtifactCorruptedObjectFailsTheInput(t *testing.T) {
	execNeedRoot(t)
	bin := execGleanerBinary(t)
	storeDir := filepath.Join(t.TempDir(), "artifacts")
	shared := openDir(t)
	gate := filepath.Join(shared, "gate")
	env := newSchedEnv(t, localmesos.Config{Agents: 1, WorkDir: openDir(t)})
	n, _ := env.startNode("a", func(c *node.Config) {
		c.Framework.ExecutorPath = bin
		c.Framework.ArtifactStore = &gleanerpb.ArtifactStore{Url: "dir://" + storeDir}
	})
	j := submit(t, []*node.Node{n}, mustSpec(t, `
name: corrupt
tasks:
  - {name: produce, command: "echo precious > out.txt", outputs: {artifacts: [{name: data, path: out.txt}]}}
  - {name: gate, depends: [produce], command: "until [ -e `+gate+` ]; do sleep 0.05; done"}
  - name: consume
    depends: [gate]
    retries: 0
    command: "echo RAN; cat in.txt"
    inputs: {artifacts: [{name: data, from: tasks.produce.outputs.artifacts.data, path: in.txt}]}
`))
	refPath := filepath.Join(storeDir, filepath.FromSlash(artifacts.RefKey(j.ID, "produce", 0, "data")))
	waitFor(t, "produce's artifact in the store", 60*time.Second, func() bool {
		_, err := os.Stat(refPath)
		return err == nil
	})
	objects, err := filepath.Glob(filepath.Join(storeDir, "jobs", j.ID, "objects", "sha256", "*"))
	if err != nil || len(objects) != 1 {
		t.Fatalf("objects %v, %v", objects, err)
	}
	if err := os.WriteFile(objects[0], []byte("tampered\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st, as := waitBatch(t, n, j.ID, 60*time.Second)
	if st.State != job.Failed {
		t.Fatalf("job %s, want failed", st.State)
	}
	var consume *job.Attempt
	for i := range as {
		if as[i].Task == "consume" {
			consume = &as[i]
		}
	}
	if consume == nil {
		t.Fatal("consume never launched")
	}
	for _, want := range []string{`artifact input "data"`, "digest mismatch", "expected sha256:"} {
		if !strings.Contains(consume.Message, want) {
			t.Fatalf("consume's message %q lacks %q", consume.Message, want)
		}
	}
	if consume.Reason != "REASON_CONTAINER_LAUNCH_FAILED" {
		t.Errorf("consume's reason %q", consume.Reason)
	}
}
