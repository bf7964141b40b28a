package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandlerServesStaticFilesSafely(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/ui/", Handler("/ui/"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cases := []struct {
		method, path string
		code         int
		ctype, body  string
	}{
		{"GET", "/ui/", 200, "text/html", `<script type="module" src="js/app.js">`},
		{"GET", "/ui/js/app.js", 200, "javascript", "import"},
		{"GET", "/ui/app.css", 200, "text/css", "--accent"},
		{"GET", "/ui/js/", 404, "", ""},
		{"GET", "/ui/nope.js", 404, "", ""},
		{"GET", "/ui/../ui.go", 404, "", ""},
		{"POST", "/ui/", 405, "", ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.body) {
			t.Errorf("%s %s: %d %q %.80q; want %d %q containing %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), b, c.code, c.ctype, c.body)
		}
		if c.code == 200 {
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s: Content-Security-Policy %q", c.path, csp)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: no nosniff", c.path)
			}
		}
	}
}

// Nothing is fetched from another origin at run time, no script is
// inline (the policy forbids it), and data reaches the DOM as text only.
func TestStaticFilesAreSelfContained(t *testing.T) {
	remote := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?https?:|import\s+[^;]*from\s+["']https?:`)
	n := 0
	err := fs.WalkDir(Static(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := fs.ReadFile(Static(), path)
		if err != nil {
			return err
		}
		s := string(b)
		if m := remote.FindString(s); m != "" {
			t.Errorf("%s refers to another origin: %q", path, m)
		}
		if strings.HasSuffix(path, ".html") && regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(s) {
			t.Errorf("%s has an inline script", path)
		}
		if strings.HasSuffix(path, ".js") && regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(`).MatchString(s) {
			t.Errorf("%s writes HTML from strings", path)
		}
		return nil
	})
	if err != nil || n < 8 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}
