package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// job get JOB TASK INDEX lists the outputs of the last attempt that left
// some, sorted, a long value cut with its size.
func TestPrintInstanceShowsOutputs(t *testing.T) {
	long := strings.Repeat("x", maxOutputShown+50)
	inst := client.Instance{Job: "j", Task: "flip", Index: 0, Attempts: []client.Attempt{
		{Attempt: 0, State: "succeeded", Outputs: map[string]string{"result": "tails"}},
		{Attempt: 1, State: "succeeded", Outputs: map[string]string{"result": "heads", "big": long, "two": "a\nb"}},
		{Attempt: 2, State: "failed"},
	}}
	var b bytes.Buffer
	printInstance(&b, inst, painter{})
	out := b.String()
	want := "outputs (attempt 1):\n  big = " + long[:maxOutputShown] + "… (250 bytes)\n  result = heads\n  two = a\\nb\n"
	if !strings.HasSuffix(out, want) {
		t.Fatalf("got\n%s\nwant it to end with\n%s", out, want)
	}
}

// job get JOB --outputs (table, -o json, -o yaml) and job get JOB TASK/INDEX
// show each task's output parameters and artifacts — name, size, digest
// and the store URL — as the real API returns them from stored attempts.
func TestJobGetShowsOutputsAndArtifacts(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	cfg := testAPIConfig()
	cfg.ArtifactStoreURL = "s3://results/gleaner?endpoint=127.0.0.1:9000"
	srv := httptest.NewServer(api.Handler(instantBackend{st}, cfg))
	t.Cleanup(srv.Close)
	t.Setenv("GLEANER_API", srv.URL)
	t.Setenv("GLEANER_TOKEN", "tok")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())

	digest := "sha256:" + strings.Repeat("ab", 32)
	j := &job.Job{ID: "pipe-1", Submitted: time.Now(), Spec: job.Spec{Name: "pipe", Tasks: []job.TaskSpec{
		{Name: "split", Command: "true", Instances: 2}, {Name: "use", Command: "true", Instances: 1, Depends: []string{"split"}}}}}
	if err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := st.PutAttempts(ctx, []job.Attempt{
		{Job: j.ID, Task: "split", Index: 0, State: job.AttemptSucceeded, Ended: now, Outputs: map[string]string{"rows": "10"},
			Artifacts: []job.ArtifactRef{{Name: "part", Digest: digest, Size: 1234, Kind: "file"}}},
		{Job: j.ID, Task: "split", Index: 1, State: job.AttemptSucceeded, Ended: now, Outputs: map[string]string{"rows": "20"}},
		{Job: j.ID, Task: "use", Index: 0, State: job.AttemptSucceeded, Ended: now},
	}); err != nil {
		t.Fatal(err)
	}
	url := "s3://results/gleaner/jobs/pipe-1/objects/sha256/" + strings.Repeat("ab", 32) + "?endpoint=127.0.0.1:9000"

	out, err := runJobCLI(t, "job", "get", "pipe-1", "--outputs")
	want := "split:\n  split/0 (attempt 0):\n    rows = 10\n    artifact part: 1234 bytes " + digest + " " + url + "\n" +
		"  split/1 (attempt 0):\n    rows = 20\nuse:\n  use/0: no outputs\n"
	if err != nil || out != want {
		t.Fatalf("--outputs: %v\ngot\n%s\nwant\n%s", err, out, want)
	}
	out, err = runJobCLI(t, "job", "get", "pipe-1", "--outputs", "--limit", "1")
	if err != nil || !strings.Contains(out, "split: (1 of 2 succeeded instances; --limit for more)") || strings.Contains(out, "split/1") {
		t.Fatalf("--outputs --limit 1: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "get", "pipe-1", "--outputs", "-o", "json")
	var got JobOutputs
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got.Tasks) != 2 || got.Tasks[0].Total != 2 ||
		got.Tasks[0].Instances[1].Outputs["rows"] != "20" {
		t.Fatalf("--outputs -o json: %v\n%s", err, out)
	}
	if a := got.Tasks[0].Instances[0].Artifacts; len(a) != 1 || a[0] != (client.Artifact{Name: "part", Digest: digest, Size: 1234, Kind: "file",
		Key: "jobs/pipe-1/objects/sha256/" + strings.Repeat("ab", 32), URL: url}) {
		t.Fatalf("artifacts in json: %+v", a)
	}
	out, err = runJobCLI(t, "job", "get", "pipe-1", "--outputs", "-o", "yaml")
	if err != nil || !strings.Contains(out, "rows: \"10\"") || !strings.Contains(out, "size: 1234") || !strings.Contains(out, "url: "+url) {
		t.Fatalf("--outputs -o yaml: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "get", "pipe-1", "split/0")
	if err != nil || !strings.HasSuffix(out, "outputs (attempt 0):\n  rows = 10\n  artifact part: 1234 bytes "+digest+" "+url+"\n") {
		t.Fatalf("get split/0: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "get", "pipe-1", "split/0", "-o", "json")
	if err != nil || !strings.Contains(out, `"digest": "`+digest+`"`) || !strings.Contains(out, `"url": "`+url+`"`) {
		t.Fatalf("get split/0 -o json: %v\n%s", err, out)
	}
}
