package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBundleCacheDir(t *testing.T) {
	const sb = "/var/lib/mesos/slaves/a/frameworks/f/executors/e/runs/r"
	for _, c := range []struct {
		name, flag, env string
		want            string
		isDefault       bool
		wantErr         string
	}{
		{"default outside the sandbox", "", "", DefaultBundleCache, true, ""},
		{"env", "", "/srv/bundles", "/srv/bundles", false, ""},
		{"flag wins", "/data/bundles", "/srv/bundles", "/data/bundles", false, ""},
		{"inside the sandbox refused", sb + "/.bundles", "", "", false, "inside the executor's sandbox"},
		{"the sandbox itself refused", sb + "/", "", "", false, "inside the executor's sandbox"},
		{"env inside refused too", "", sb + "/x/../.b", "", false, "inside the executor's sandbox"},
		{"a sibling is fine", sb + "-cache", "", sb + "-cache", false, ""},
		{"relative refused", "bundles", "", "", false, "absolute"},
	} {
		got, def, err := bundleCacheDir(c.flag, c.env, sb)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "--bundle-cache") {
				t.Errorf("%s: %q, %v; want an error naming --bundle-cache and %q", c.name, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want || def != c.isDefault {
			t.Errorf("%s: %q %v %v; want %q %v", c.name, got, def, err, c.want, c.isDefault)
		}
	}
}

// The default cache directory is made 0700, even if it existed wider.
func TestDefaultBundleCacheIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache", "bundles")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := openBundleCache(dir, true); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("default cache mode %v %v, want 0700", fi.Mode(), err)
	}
}
