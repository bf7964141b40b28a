package executor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/executor/artifacts"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

// A task's output artifacts (a file and a directory) reach another task's
// sandbox, owned by its uid; the store's secret never reaches a task; a
// corrupted object fails the input fetch naming the digest mismatch.
func TestArtifactsPassBetweenTasks(t *testing.T) {
	h := start(t, false)
	storeDir := filepath.Join(t.TempDir(), "store")
	store := &gleanerpb.ArtifactStore{Url: "dir://" + storeDir, AccessKeyId: "AKIA-TEST", SecretAccessKey: "SECRET-NEVER-IN-TASKS"}
	h.launch("produce", payload("mkdir -p out/res/sub && echo hello > out/a.txt && echo deep > out/res/sub/b.txt && ln -s /etc/passwd out/res/link && env && cat /proc/self/environ", false, func(p *gleanerpb.TaskPayload) {
		p.JobId, p.TaskName, p.Index = "job-a", "produce", 0
		p.ArtifactStore = store
		p.ArtifactOutputs = []*gleanerpb.ArtifactOutput{{Name: "greeting", Path: "out/a.txt", MaxBytes: 1 << 20}, {Name: "results", Path: "out/res", MaxBytes: 1 << 20}}
	}))
	st, res := h.terminal("produce", 30*time.Second)
	if st.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("produce: %s %q\n%s", st.GetState(), st.GetMessage(), h.stdout("produce"))
	}
	if strings.Contains(h.stdout("produce"), "SECRET-NEVER-IN-TASKS") {
		t.Fatal("the store's secret reached the task's environment")
	}
	if len(res.Artifacts) != 2 || res.Artifacts[0].Name != "greeting" || res.Artifacts[0].SizeBytes != 6 ||
		!strings.HasPrefix(res.Artifacts[0].Digest, "sha256:") || res.Artifacts[1].Kind != artifacts.KindTarGz {
		t.Fatalf("reported artifacts = %+v", res.Artifacts)
	}
	consume := func(id string) *gleanerpb.TaskPayload {
		return payload("cat in/greeting.txt in/res/sub/b.txt; test -e in/res/link && echo LINK; echo more >> in/greeting.txt && echo WRITABLE", false, func(p *gleanerpb.TaskPayload) {
			p.JobId, p.TaskName = "job-a", "consume"
			p.ArtifactStore = store
			p.ArtifactInputs = []*gleanerpb.ArtifactInput{
				{Name: "g", Path: "in/greeting.txt", FromTask: "produce", FromIndex: 0, FromName: "greeting", MaxBytes: 1 << 20},
				{Name: "r", Path: "in/res", FromTask: "produce", FromIndex: 0, FromName: "results", MaxBytes: 1 << 20},
			}
		})
	}
	h.launch("consume", consume("consume"))
	st, _ = h.terminal("consume", 30*time.Second)
	out := h.stdout("consume")
	if st.GetState() != mesos.TASK_FINISHED || !strings.Contains(out, "hello\ndeep\n") || !strings.Contains(out, "WRITABLE") || strings.Contains(out, "LINK") {
		t.Fatalf("consume: %s %q\n%s", st.GetState(), st.GetMessage(), out)
	}
	// Corrupt the stored file: the next consumer fails before it starts.
	obj := filepath.Join(storeDir, filepath.FromSlash(artifacts.ObjectKey("job-a", res.Artifacts[0].Digest)))
	if err := os.WriteFile(obj, []byte("HELLO\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.launch("consume2", consume("consume2"))
	st, _ = h.terminal("consume2", 30*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED ||
		!strings.Contains(st.GetMessage(), `artifact input "g"`) || !strings.Contains(st.GetMessage(), "digest mismatch") {
		t.Fatalf("consume of a corrupted object: %s %s %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
	// An output that is a link out of the sandbox fails the producer.
	h.launch("leak", payload("ln -s /etc/shadow secret", false, func(p *gleanerpb.TaskPayload) {
		p.JobId, p.TaskName = "job-a", "leak"
		p.ArtifactStore = store
		p.ArtifactOutputs = []*gleanerpb.ArtifactOutput{{Name: "s", Path: "secret", MaxBytes: 1 << 20}}
	}))
	st, _ = h.terminal("leak", 30*time.Second)
	if st.GetState() != mesos.TASK_FAILED || !strings.Contains(st.GetMessage(), `artifact output "s"`) || !strings.Contains(st.GetMessage(), "links are not followed") {
		t.Fatalf("leak: %s %q", st.GetState(), st.GetMessage())
	}
	// A bound exceeded fails the producer naming it.
	h.launch("big", payload("head -c 2000 /dev/zero > big", false, func(p *gleanerpb.TaskPayload) {
		p.JobId, p.TaskName = "job-a", "big"
		p.ArtifactStore = store
		p.ArtifactOutputs = []*gleanerpb.ArtifactOutput{{Name: "b", Path: "big", MaxBytes: 1000}}
	}))
	st, _ = h.terminal("big", 30*time.Second)
	if st.GetState() != mesos.TASK_FAILED || !strings.Contains(st.GetMessage(), "larger than its bound of 1000 bytes") {
		t.Fatalf("big: %s %q", st.GetState(), st.GetMessage())
	}
}
