package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"

	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Pinning local bundles: the executor checks every rootfs bundle against
// its digest, and a bundle built on this host (`make demo` builds
// /var/tmp/gleaner-demo/bundles/busybox.tar.gz from the host's busybox)
// has a digest no file in the repository can know. A bundle given with a
// file:// URI and no digest is pinned by the CLI at submit (and validate):
// it hashes the file as this host has it and sends the digest, saying so
// on stderr. A bundle without a digest that cannot be read here is refused
// naming its field. Specs whose bundles all carry digests are sent as
// written.

// fileDigest hashes a local file (rootfs.FileDigest).
type fileDigest func(path string) (string, error)

func hashFile(path string) (string, error) {
	d, _, err := rootfs.FileDigest(path)
	return d, err
}

// localBundlePath is the file a file:// bundle URI names ("" if the URI is
// not a local file).
func localBundlePath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
		return ""
	}
	return u.Path
}

// pinBundle fills b's digest from its local file when it has none; field
// names b in errors.
func pinBundle(field string, b *job.Bundle, digest fileDigest, log io.Writer) (bool, error) {
	if b == nil || b.Digest != "" {
		return false, nil
	}
	p := localBundlePath(b.URI)
	if p == "" {
		return false, &fielderr.FieldError{Field: field + ".digest", Msg: fmt.Sprintf("required for %s (the executor checks every bundle against its digest; only a file:// bundle readable here is pinned by the CLI)", b.URI)}
	}
	d, err := digest(p)
	if err != nil {
		return false, &fielderr.FieldError{Field: field + ".digest", Msg: fmt.Sprintf("none given, and %s cannot be read here to pin it: %v", b.URI, err)}
	}
	b.Digest = d
	fmt.Fprintf(log, "pinned %s (%s) to %s\n", field, b.URI, d)
	return true, nil
}

// pinSpecBundles pins the bundles of a job spec document that have no
// digest. It returns data unchanged when none is missing, else the spec
// as JSON with the digests filled in.
func pinSpecBundles(data []byte, digest fileDigest, log io.Writer) ([]byte, error) {
	sp, err := spec.Parse(data)
	if err != nil {
		return data, nil // the scheduler names the error, as without pinning
	}
	changed := false
	for i := range sp.Tasks {
		ok, err := pinBundle(fmt.Sprintf("tasks[%d].bundle", i), sp.Tasks[i].Bundle, digest, log)
		if err != nil {
			return nil, err
		}
		changed = changed || ok
	}
	if !changed {
		return data, nil
	}
	return json.Marshal(sp)
}

// pinImageMap pins the bundles of a compose image map (--images) that
// have no digest, returning the map as JSON (ParseImages reads JSON too).
func pinImageMap(data []byte, digest fileDigest, log io.Writer) ([]byte, error) {
	js, err := spec.YAMLToJSON("image map", data)
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(js, &doc); err != nil {
		return data, nil // ParseImages names the error
	}
	var images map[string]map[string]any
	if err := json.Unmarshal(doc["images"], &images); err != nil {
		return data, nil
	}
	changed := false
	for name, entry := range images {
		d, _ := entry["digest"].(string)
		uri, _ := entry["uri"].(string)
		if d != "" || uri == "" {
			continue
		}
		b := job.Bundle{URI: uri}
		if _, err := pinBundle("images."+name, &b, digest, log); err != nil {
			return nil, err
		}
		entry["digest"], changed = b.Digest, true
	}
	if !changed {
		return data, nil
	}
	if doc["images"], err = json.Marshal(images); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}
