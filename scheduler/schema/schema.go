package schema

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
)

// JSON is the job spec's JSON Schema, draft 2020-12.
//
//go:embed job.schema.json
var JSON []byte

// ID is the schema's $id.
const ID = "https://gleaner-project.github.io/schema/job.schema.json"

// Path is where Handler serves the schema.
const Path = "/v1/schema"

var etag = func() string {
	h := sha256.Sum256(JSON)
	return `"` + hex.EncodeToString(h[:8]) + `"`
}()

// Handler serves the schema (GET and HEAD) as application/schema+json,
// with an ETag so editors can cache it. Mount it at Path, e.g. with
// api.Config.Mount["GET /v1/schema"].
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "public, max-age=300")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/schema+json")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(JSON)
	})
}
