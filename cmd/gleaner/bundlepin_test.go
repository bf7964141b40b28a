package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/compose"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

const pinned = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func fakeDigest(files map[string]string) fileDigest {
	return func(p string) (string, error) {
		if d, ok := files[p]; ok {
			return d, nil
		}
		return "", os.ErrNotExist
	}
}

// A file:// bundle without a digest is pinned to the local file; one that
// has a digest is sent as written; one that cannot be pinned is refused
// naming its field.
func TestPinSpecBundles(t *testing.T) {
	digest := fakeDigest(map[string]string{"/var/tmp/b.tar.gz": pinned})
	tests := []struct {
		name, doc, field string
		wantDigest       string // "" : document unchanged
	}{
		{"file bundle without digest: pinned", "name: v\ntasks: [{name: a, command: x, bundle: {uri: 'file:///var/tmp/b.tar.gz'}}]", "", pinned},
		{"with a digest: as written", "name: v\ntasks: [{name: a, command: x, bundle: {uri: 'file:///var/tmp/b.tar.gz', digest: 'sha256:" + strings.Repeat("2", 64) + "'}}]", "", ""},
		{"no bundle: as written", "name: v\ntasks: [{name: a, command: x}]", "", ""},
		{"a file not here", "name: v\ntasks: [{name: a, command: x}, {name: b, command: x, bundle: {uri: 'file:///nope.tar.gz'}}]", "tasks[1].bundle.digest", ""},
		{"a remote bundle without digest", "name: v\ntasks: [{name: a, command: x, bundle: {uri: 'https://example.invalid/b.tar.gz'}}]", "tasks[0].bundle.digest", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			out, err := pinSpecBundles([]byte(tc.doc), digest, &log)
			if tc.field != "" {
				fe, ok := spec.AsFieldError(err)
				if !ok || fe.Field != tc.field {
					t.Fatalf("err %v, want a field error on %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantDigest == "" {
				if string(out) != tc.doc || log.Len() > 0 {
					t.Fatalf("changed: %s (log %q)", out, log.String())
				}
				return
			}
			sp, err := spec.Parse(out)
			if err != nil {
				t.Fatalf("pinned spec does not parse: %v\n%s", err, out)
			}
			if got := sp.Tasks[0].Bundle.Digest; got != tc.wantDigest || !strings.Contains(log.String(), "pinned tasks[0].bundle") {
				t.Fatalf("digest %q, log %q", got, log.String())
			}
		})
	}
}

// The compose image map: a file:// entry without a digest is pinned, and
// compose reads the result; a missing file is refused naming the image.
func TestPinImageMap(t *testing.T) {
	var log bytes.Buffer
	doc := "images:\n  busybox:1.36:\n    uri: file:///var/tmp/b.tar.gz\n    entrypoint: [/bin/sh]\n"
	out, err := pinImageMap([]byte(doc), fakeDigest(map[string]string{"/var/tmp/b.tar.gz": pinned}), &log)
	if err != nil {
		t.Fatal(err)
	}
	im, err := compose.ParseImages(out)
	if err != nil {
		t.Fatalf("compose refuses the pinned map: %v\n%s", err, out)
	}
	for _, b := range im {
		if b.Digest != pinned || len(b.Entrypoint) != 1 {
			t.Fatalf("entry %+v", b)
		}
	}
	_, err = pinImageMap([]byte(doc), fakeDigest(nil), &log)
	if fe, ok := spec.AsFieldError(err); !ok || fe.Field != "images.busybox:1.36.digest" {
		t.Fatalf("missing file: %v", err)
	}
}

// hashFile is the digest the executor verifies (rootfs.FileDigest).
func TestHashFileIsTheBundleDigest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := hashFile(p)
	if err != nil || d != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("%q %v", d, err)
	}
	if _, err := hashFile(p + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

// Pinning re-sends the spec as JSON: examples/volumes.yaml comes back the
// same job but for the digest.
func TestPinnedVolumesExampleIsTheSameJob(t *testing.T) {
	b, err := os.ReadFile("../../examples/volumes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := spec.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pinSpecBundles(b, fakeDigest(map[string]string{"/var/tmp/gleaner-demo/bundles/busybox.tar.gz": pinned}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got, err := spec.Parse(out)
	if err != nil {
		t.Fatalf("pinned: %v\n%s", err, out)
	}
	if got.Tasks[0].Bundle.Digest != pinned {
		t.Fatalf("digest %q", got.Tasks[0].Bundle.Digest)
	}
	got.Tasks[0].Bundle.Digest = ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pinned spec differs:\n got %+v\nwant %+v", got, want)
	}
}
