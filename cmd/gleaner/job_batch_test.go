package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

func TestJobCLIComposeAndTemplate(t *testing.T) {
	st := store.NewMemory()
	srv := httptest.NewServer(api.Handler(instantBackend{st}, testAPIConfig()))
	defer srv.Close()
	t.Setenv("GLEANER_API", srv.URL)
	t.Setenv("GLEANER_TOKEN", "tok")

	// The compose example needs an image map or --unmapped-host.
	if out, err := runJobCLI(t, "job", "submit", "-f", "../../examples/compose/docker-compose.yml"); err == nil || !strings.Contains(out+err.Error(), "image") ||
		!strings.Contains(err.Error(), "--images") || !strings.Contains(err.Error(), "--unmapped-host") {
		t.Fatalf("compose without an image map: %v\n%s", err, out)
	}
	// A file without a project name takes its directory's, as docker compose does.
	dir := filepath.Join(t.TempDir(), "Nightly_ETL")
	os.Mkdir(dir, 0o755)
	noName := filepath.Join(dir, "docker-compose.yml")
	os.WriteFile(noName, []byte("version: '2'\nlabels: {gleaner.project_type: batch}\nservices: {a: {command: 'true'}}\n"), 0o644)
	if out, err := runJobCLI(t, "job", "submit", "-f", noName); err != nil || strings.TrimSpace(out) != "nightly-etl-1" {
		t.Fatalf("compose named by its directory: %v\n%s", err, out)
	}
	if _, err := runJobCLI(t, "job", "submit", "-f", noName, "--name", "Bad_Name"); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Fatalf("a bad --name: %v", err)
	}
	out, err := runJobCLI(t, "job", "submit", "-f", "../../examples/compose/docker-compose.yml", "--images", "../../examples/compose/images.yaml", "--watch")
	if err != nil || !strings.Contains(out, "succeeded") {
		t.Fatalf("compose submit: %v\n%s", err, out)
	}
	j, err := st.GetJob(context.Background(), "compose-demo-1")
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := j.Task("s1"), j.Task("s2")
	if s1.Instances != 10 || s2.Instances != 4 || s2.Depends[0] != "s1" || s2.Cleanup != "remove-none" || s1.Bundle == nil || !strings.HasPrefix(s1.Bundle.Digest, "sha256:") {
		t.Fatalf("converted: s1 %+v s2 %+v", s1, s2)
	}

	out, err = runJobCLI(t, "job", "submit", "--templates", "../../examples/templates", "--template", "shards", "-p", "shards=6", "-p", "input=/data/x")
	if err != nil || !strings.Contains(out, "shards-1") {
		t.Fatalf("template submit: %v\n%s", err, out)
	}
	j, err = st.GetJob(context.Background(), "shards-1")
	if err != nil || j.Spec.Tasks[0].Instances != 6 || !strings.Contains(j.Spec.Tasks[0].Command, "/data/x") {
		t.Fatalf("instantiated: %+v %v", j, err)
	}
	if out, err := runJobCLI(t, "job", "submit", "--templates", "../../examples/templates", "--template", "shards"); err == nil || !strings.Contains(out+err.Error(), "args.input") {
		t.Fatalf("missing parameter: %v\n%s", err, out)
	}
	if out, err := runJobCLI(t, "job", "submit"); err == nil {
		t.Fatalf("submit without -f or --template: %s", out)
	}
	// This backend cannot suspend: the API answers 501, the CLI fails.
	if out, err := runJobCLI(t, "job", "suspend", "shards-1"); err == nil {
		t.Fatalf("suspend on a backend without it: %s", out)
	}
}
