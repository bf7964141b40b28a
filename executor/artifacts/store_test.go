package artifacts

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/test/s3server/s3run"
)

// testStore is the contract every Store meets.
func testStore(t *testing.T, st Store) {
	ctx := context.Background()
	get := func(key string) (string, error) {
		rc, err := st.Get(ctx, key)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	if _, err := get("jobs/j1/refs/a/0/x.json"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key = %v, want ErrNotFound", err)
	}
	for k, v := range map[string]string{"jobs/j1/refs/a/0/x.json": "one", "jobs/j1/objects/sha256/ab": "two", "jobs/j2/refs/a/0/x.json": "three"} {
		if err := st.Put(ctx, k, strings.NewReader(v), int64(len(v))); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	if err := st.Put(ctx, "jobs/j1/refs/a/0/x.json", strings.NewReader("uno"), 3); err != nil {
		t.Fatalf("Put over an object: %v", err)
	}
	if v, err := get("jobs/j1/refs/a/0/x.json"); err != nil || v != "uno" {
		t.Fatalf("Get = %q, %v; want the replacement", v, err)
	}
	if err := st.DeletePrefix(ctx, JobPrefix("j1")); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	for _, k := range []string{"jobs/j1/refs/a/0/x.json", "jobs/j1/objects/sha256/ab"} {
		if _, err := get(k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get %s after DeletePrefix = %v, want ErrNotFound", k, err)
		}
	}
	if v, err := get("jobs/j2/refs/a/0/x.json"); err != nil || v != "three" {
		t.Fatalf("another job's object = %q, %v; want it kept", v, err)
	}
	if err := st.DeletePrefix(ctx, JobPrefix("j1")); err != nil {
		t.Fatalf("DeletePrefix of nothing: %v", err)
	}
	for _, bad := range []string{"../x", "jobs/../x", "/abs", "jobs//x", "jobs/.hidden", ""} {
		if err := st.Put(ctx, bad, strings.NewReader("x"), 1); err == nil {
			t.Fatalf("Put %q accepted", bad)
		}
	}
	if err := st.DeletePrefix(ctx, "jobs/../"); err == nil {
		t.Fatal("DeletePrefix of jobs/../ accepted")
	}
}

func TestDirStore(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	st, err := NewDirStore(root)
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, st)
	// Directories 0700, files 0600, nothing left in the temporary directory.
	if err := st.Put(context.Background(), "jobs/j3/objects/sha256/cd", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"jobs", "jobs/j3", "jobs/j3/objects/sha256"} {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v, want mode 0700", p, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "jobs/j3/objects/sha256/cd")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("object mode %v %v, want 0600", fi.Mode(), err)
	}
	if left, _ := os.ReadDir(filepath.Join(root, tmpDir)); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// A short reader leaves no object behind.
	if err := st.Put(context.Background(), "jobs/j3/short", strings.NewReader("ab"), 5); err == nil {
		t.Fatal("Put of fewer bytes than size accepted")
	}
	if _, err := os.Stat(filepath.Join(root, "jobs/j3/short")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial object visible: %v", err)
	}
}

func TestS3Store(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts test/s3server")
	}
	srv := s3run.Start(t, "artifacts")
	loc, err := ParseURL(srv.URL("gleaner"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewS3Store(loc, "test-key", "test-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, st)
	// A transfer end to end through the server, and a corrupted object.
	testTransfer(t, st)
}

func TestParseURL(t *testing.T) {
	good := map[string]Location{
		"dir:///srv/artifacts": {Scheme: "dir", Dir: "/srv/artifacts"},
		"s3://my-bucket":       {Scheme: "s3", Bucket: "my-bucket", Endpoint: "s3.amazonaws.com"},
		"s3://b12/a/b/?endpoint=127.0.0.1:9000&insecure=true&region=eu-1": {Scheme: "s3", Bucket: "b12", Prefix: "a/b", Endpoint: "127.0.0.1:9000", Insecure: true, Region: "eu-1"},
	}
	for u, want := range good {
		got, err := ParseURL(u)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", u, got, err, want)
		}
	}
	bad := map[string]string{
		"dir://host/x":             "dir:///absolute",
		"dir://relative":           "dir:///absolute",
		"dir:///a/../b":            "dir:///absolute",
		"dir:///":                  "dir:///absolute",
		"s3://AB":                  "bucket",
		"s3://key:secret@bucket":   "credentials do not belong",
		"s3://bucket?endpoint=h/p": "host[:port]",
		"s3://bucket?token=x":      `unknown parameter "token"`,
		"s3://bucket?insecure=yes": "insecure must be",
		"s3://bucket/../x":         "prefix",
		"ftp://x":                  "scheme must be dir or s3",
		"s3://b" + strings.Repeat("x", MaxURLLength): "longer than",
	}
	for u, msg := range bad {
		if _, err := ParseURL(u); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseURL(%q) = %v, want an error with %q", u, err, msg)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"dir:///srv/a", "s3://b12/p?endpoint=h:1&insecure=true", "s3://x/../y", "dir:///a/./b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseURL(s)
		if err != nil {
			return
		}
		switch loc.Scheme {
		case "dir":
			if !filepath.IsAbs(loc.Dir) || filepath.Clean(loc.Dir) != loc.Dir {
				t.Fatalf("%q: dir %q not absolute and clean", s, loc.Dir)
			}
		case "s3":
			if loc.Prefix != "" && checkKey(loc.Prefix) != nil {
				t.Fatalf("%q: prefix %q accepted", s, loc.Prefix)
			}
		default:
			t.Fatalf("%q: scheme %q", s, loc.Scheme)
		}
	})
}
