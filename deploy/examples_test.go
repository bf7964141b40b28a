package deploy

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every bundle URI an example names is one that `make demo` builds
// (deploy/demo.sh), so the examples run as they are after a demo; no
// example points at a placeholder host such as bundles.example.com.
// (That every example parses is scheduler/spec's TestExamplesParse.)
func TestExampleBundlesAreBuiltByTheDemo(t *testing.T) {
	demo, err := os.ReadFile("demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	built := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^demo_bundle=(\S+)$`).FindAllStringSubmatch(string(demo), -1) {
		path := strings.ReplaceAll(m[1], "$demo_bundles", demoVar(t, string(demo), "demo_bundles"))
		built["file://"+path] = true
	}
	if len(built) == 0 {
		t.Fatal("demo.sh sets no demo_bundle=PATH")
	}
	uriRE := regexp.MustCompile(`uri:\s*"?([^"\s,}]+)`)
	var files []string
	_ = filepath.WalkDir("../examples", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	named := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range uriRE.FindAllStringSubmatch(string(b), -1) {
			named++
			if !built[m[1]] {
				t.Errorf("%s names bundle %s, which nothing builds (demo.sh builds %v)", f, m[1], keys(built))
			}
		}
		if strings.Contains(string(b), "example.com") {
			t.Errorf("%s names a placeholder host (example.com)", f)
		}
	}
	if named == 0 {
		t.Error("no example names a bundle URI; the check checked nothing")
	}
}

// demoVar returns the value demo.sh assigns to name (NAME=value).
func demoVar(t *testing.T, script, name string) string {
	m := regexp.MustCompile(`(?m)^` + name + `=(\S+)$`).FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("demo.sh does not set %s", name)
	}
	return m[1]
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// `make demo` refuses to run when something already answers on its API
// port, instead of submitting the examples to whatever that is.
func TestDemoFailsWhenItsPortIsTaken(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("demo.sh needs curl, which is not installed")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	cmd := exec.Command("sh", "demo.sh")
	cmd.Env = append(os.Environ(), "GLEANER_DEMO_PORT="+port)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "127.0.0.1:"+port+" is already in use") {
		t.Fatalf("demo.sh with port %s taken: %v\n%s", port, err, out)
	}
	if strings.Contains(string(out), "starting gleaner dev") {
		t.Errorf("demo.sh went on after finding the port taken:\n%s", out)
	}
}
