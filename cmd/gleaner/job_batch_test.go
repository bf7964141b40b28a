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
	// examples/compose/images.yaml names the bundle `make demo` builds, absent
	// on a fresh machine: the same map, with its bundle here (any file: the CLI
	// pins the digest of what it reads).
	images := exampleImagesWithBundle(t, "../../examples/compose/images.yaml")
	out, err := runJobCLI(t, "job", "submit", "-f", "../../examples/compose/docker-compose.yml", "--images", images, "--watch")
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

// exampleImagesWithBundle copies an example image map with its one demo
// bundle URI pointed at a file written under the test's directory.
func exampleImagesWithBundle(t *testing.T, example string) string {
	t.Helper()
	const demoURI = "file:///var/tmp/gleaner-demo/bundles/busybox.tar.gz"
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), demoURI) {
		t.Fatalf("%s no longer names %s", example, demoURI)
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "busybox.tar.gz")
	if err := os.WriteFile(bundle, []byte("a bundle stand-in"), 0o644); err != nil {
		t.Fatal(err)
	}
	images := filepath.Join(dir, "images.yaml")
	if err := os.WriteFile(images, []byte(strings.ReplaceAll(string(data), demoURI, "file://"+bundle)), 0o644); err != nil {
		t.Fatal(err)
	}
	return images
}
