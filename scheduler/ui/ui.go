package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// Static is the UI's file tree (index.html at its root).
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// contentSecurityPolicy lets the page load and call nothing but its own
// origin, run no inline script and be framed by no one.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the UI under prefix (e.g. "/ui/"): static files only,
// with a strict Content-Security-Policy, no caching of index.html (a new
// binary's page is picked up at once) and no directory listings.
func Handler(prefix string) http.Handler {
	fsrv := http.StripPrefix(prefix, http.FileServerFS(Static()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if p := r.URL.Path; len(p) > len(prefix) && p[len(p)-1] == '/' {
			http.NotFound(w, r) // no listings of js/
			return
		}
		fsrv.ServeHTTP(w, r)
	})
}
