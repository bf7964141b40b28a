package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/scheduler/templates"
)

func TestTemplateName(t *testing.T) {
	for _, c := range []struct{ flag, file, doc, want string }{
		{"given", "x.yaml", "name: other", "given"},
		{"", "x.yaml", "name: inside\nspec: {}", "inside"},
		{"", "/d/from-file.yml", "spec: {}", "from-file"},
	} {
		if got, err := templateName(c.flag, c.file, []byte(c.doc)); err != nil || got != c.want {
			t.Errorf("templateName(%q, %q) = %q, %v; want %q", c.flag, c.file, got, err, c.want)
		}
	}
	if _, err := templateName("", "-", []byte("spec: {}")); err == nil {
		t.Error("stdin without a name field was given a name")
	}
}

// The CLI against the real API with the template routes mounted: push,
// list, show a version, and job submit --template running the stored one
// (no ./templates directory) and following it to success.
func TestTemplateCLI(t *testing.T) {
	b := instantBackend{store.NewMemory()}
	tpl := templates.Handler(templates.HandlerConfig{Store: templates.NewMemory(templates.Limits{}), Backend: b})
	cfg := testAPIConfig()
	cfg.Mount = map[string]http.Handler{"/v1/templates": tpl, "/v1/templates/": tpl}
	srv := httptest.NewServer(api.Handler(b, cfg))
	defer srv.Close()
	t.Setenv("GLEANER_API", srv.URL)
	t.Setenv("GLEANER_TOKEN", "tok")
	t.Setenv("GLEANER_TEMPLATES", "restored after the test")
	os.Unsetenv("GLEANER_TEMPLATES")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "examples/templates-stored/greet.yaml"))
	t.Chdir(t.TempDir()) // no ./templates here
	file := filepath.Join(t.TempDir(), "greet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runJobCLI(t, "template", "push", "-f", file); err != nil || !strings.Contains(out, "greet version 1") {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if out, err := runJobCLI(t, "template", "push", "-f", file); err != nil || !strings.Contains(out, "greet version 1 (unchanged)") {
		t.Fatalf("push again: %v\n%s", err, out)
	}
	if out, err := runJobCLI(t, "template", "list"); err != nil || !strings.Contains(out, "greet") || !strings.Contains(out, "times=2") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := runJobCLI(t, "template", "show", "--version", "1", "greet"); err != nil || !strings.Contains(out, "# greet version 1") || !strings.Contains(out, "inputs.parameters.who") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	out, err := runJobCLI(t, "job", "submit", "--template", "greet", "-p", "who=cli", "--watch")
	if err != nil || !strings.Contains(out, "greet-cli-1") || !strings.Contains(out, "template greet version 1") {
		t.Fatalf("job submit --template: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "template", "run", "greet", "-p", "who=Bad Name")
	if err == nil || !strings.Contains(out+err.Error(), "name") {
		t.Fatalf("run with a bad value: %v\n%s", err, out)
	}
	if out, err := runJobCLI(t, "template", "delete", "greet"); err != nil || !strings.Contains(out, "greet deleted") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, err := runJobCLI(t, "template", "show", "greet"); err == nil {
		t.Fatal("show after delete succeeded")
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}
