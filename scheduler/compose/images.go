package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	"github.com/google/go-containerregistry/pkg/name"
)

// Bundle is the rootfs bundle an image runs as.
type Bundle struct {
	// URI is where agents fetch the bundle (http(s)://, file://, or a
	// path the executor understands).
	URI string `json:"uri"`
	// Digest is the bundle's sha256:<hex>, verified after the fetch.
	Digest string `json:"digest"`
	// Entrypoint and Cmd are the image's defaults, used when a service
	// gives no entrypoint/command (with Docker's rules: a service
	// entrypoint drops the image's Cmd).
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	// Env is the image's environment (K=V), under the service's.
	Env []string `json:"env,omitempty"`
}

// Images maps image references to bundles. Keys are normalised: "nginx",
// "nginx:latest" and "docker.io/library/nginx:latest" are one image;
// a digest reference (repo@sha256:...) is its own key.
type Images map[string]Bundle

// ParseImages reads an image→bundle table (YAML or JSON):
//
//	images:
//	  registry.example.com/etl/extract:1.4:
//	    uri: https://bundles.example.com/sha256-<hex>.tar.gz
//	    digest: sha256:<hex>
//	    entrypoint: ["/usr/bin/extract"]
//	    cmd: ["--all"]
//
// Every entry needs a parseable image reference, a uri and a valid digest.
func ParseImages(data []byte) (Images, error) {
	js, err := spec.YAMLToJSON("image map", data)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Images map[string]Bundle `json:"images"`
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse image map: %w", err)
	}
	out := Images{}
	keys := make([]string, 0, len(doc.Images))
	for k := range doc.Images {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := out.Add(k, doc.Images[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Add validates and adds one mapping.
func (m Images) Add(ref string, b Bundle) error {
	key, err := normalise(ref)
	field := "images." + ref
	if err != nil {
		return &fielderr.FieldError{Field: field, Msg: err.Error()}
	}
	if b.URI == "" {
		return &fielderr.FieldError{Field: field + ".uri", Msg: "required"}
	}
	if _, err := rootfs.ParseDigest(b.Digest); err != nil {
		return &fielderr.FieldError{Field: field + ".digest", Msg: err.Error()}
	}
	if _, dup := m[key]; dup {
		return &fielderr.FieldError{Field: field, Msg: fmt.Sprintf("maps the same image as another entry (%s)", key)}
	}
	m[key] = b
	return nil
}

// Lookup finds the bundle of an image reference.
func (m Images) Lookup(ref string) (Bundle, bool, error) {
	key, err := normalise(ref)
	if err != nil {
		return Bundle{}, false, err
	}
	b, ok := m[key]
	return b, ok, nil
}

func normalise(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("bad image reference %q: %w", ref, err)
	}
	return r.Name(), nil
}
