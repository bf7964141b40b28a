package fetcher

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func tarBytes(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipBytes(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compressWith pipes b through an external compressor, skipping when absent.
func compressWith(t *testing.T, tool string, b []byte) []byte {
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed", tool)
	}
	cmd := exec.Command(tool, "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

func serve(t *testing.T, files map[string][]byte, hits *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFetchHTTPArchivesAndFlags(t *testing.T) {
	plainTar := tarBytes(t, map[string]string{"a/hello.txt": "hello", "top.txt": "top"})
	base := serve(t, map[string][]byte{
		"/bundle.tar.gz": gzipBytes(t, plainTar),
		"/bundle.tgz":    gzipBytes(t, tarBytes(t, map[string]string{"tgz.txt": "tgz"})),
		"/plain.tar":     tarBytes(t, map[string]string{"plain.txt": "plain"}),
		"/files.zip":     zipBytes(t, map[string]string{"z/in-zip.txt": "zipped"}),
		"/run.sh":        []byte("#!/bin/sh\necho hi\n"),
		"/keep.tar.gz":   gzipBytes(t, plainTar),
		"/data.bin":      []byte("data"),
	}, nil)
	dir := t.TempDir()
	no := false
	yes := true
	out := "renamed.bin"
	uris := []mesos.CommandInfo_URI{
		{Value: base + "/bundle.tar.gz"},
		{Value: base + "/bundle.tgz"},
		{Value: base + "/plain.tar"},
		{Value: base + "/files.zip"},
		{Value: base + "/run.sh", Executable: &yes},
		{Value: base + "/keep.tar.gz?x=1", Extract: &no, OutputFile: nil},
		{Value: base + "/data.bin", OutputFile: &out},
	}
	f := &Fetcher{}
	if err := f.Fetch(context.Background(), uris, dir); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"a/hello.txt": "hello", "top.txt": "top", "tgz.txt": "tgz", "plain.txt": "plain",
		"z/in-zip.txt": "zipped", "renamed.bin": "data",
	} {
		if got := readFile(t, filepath.Join(dir, p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "run.sh")); err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Errorf("run.sh not executable: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep.tar.gz")); err != nil {
		t.Errorf("extract=false archive missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data.bin")); !os.IsNotExist(err) {
		t.Errorf("output_file ignored: data.bin exists (%v)", err)
	}
}

func TestFetchCompressedTarsWithTools(t *testing.T) {
	plain := tarBytes(t, map[string]string{"c.txt": "compressed"})
	for _, c := range []struct{ tool, name string }{{"bzip2", "x.tar.bz2"}, {"xz", "x.tar.xz"}} {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), c.name)
			if err := os.WriteFile(src, compressWith(t, c.tool, plain), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := (&Fetcher{}).Fetch(context.Background(), []mesos.CommandInfo_URI{{Value: "file://" + src}}, dir); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(dir, "c.txt")); got != "compressed" {
				t.Errorf("c.txt = %q", got)
			}
		})
	}
}

func TestFetchLocalPathAndErrors(t *testing.T) {
	src := filepath.Join(t.TempDir(), "local.txt")
	if err := os.WriteFile(src, []byte("local"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &Fetcher{}
	if err := f.Fetch(context.Background(), []mesos.CommandInfo_URI{{Value: src}}, dir); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "local.txt")); got != "local" {
		t.Errorf("local.txt = %q", got)
	}
	base := serve(t, map[string][]byte{
		"/evil.tar": tarBytes(t, map[string]string{"../escape.txt": "x"}),
		"/evil.zip": zipBytes(t, map[string]string{"../../escape.txt": "x"}),
	}, nil)
	escape := "../out.txt"
	for _, c := range []struct {
		uri  mesos.CommandInfo_URI
		want string
	}{
		{mesos.CommandInfo_URI{Value: base + "/missing"}, "404"},
		{mesos.CommandInfo_URI{Value: base + "/evil.tar"}, "escapes the directory"},
		{mesos.CommandInfo_URI{Value: base + "/evil.zip"}, "escapes the directory"},
		{mesos.CommandInfo_URI{Value: src, OutputFile: &escape}, "escapes the directory"},
		{mesos.CommandInfo_URI{Value: "relative/file"}, "relative paths"},
		{mesos.CommandInfo_URI{Value: "ftp://host/x"}, "unsupported scheme"},
		{mesos.CommandInfo_URI{Value: "file:///does/not/exist"}, "no such file"},
	} {
		err := f.Fetch(context.Background(), []mesos.CommandInfo_URI{c.uri}, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.uri.Value) {
			t.Errorf("Fetch(%q) error = %v, want one naming the URI and containing %q", c.uri.Value, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape.txt")); err == nil {
		t.Error("archive entry escaped the sandbox")
	}
}

func TestFetchCache(t *testing.T) {
	var hits atomic.Int32
	base := serve(t, map[string][]byte{"/tool.sh": []byte("v1")}, &hits)
	f := &Fetcher{CacheDir: t.TempDir()}
	yes := true
	uri := mesos.CommandInfo_URI{Value: base + "/tool.sh", Cache: &yes, Executable: &yes}
	for i := 0; i < 3; i++ {
		dir := t.TempDir()
		if err := f.Fetch(context.Background(), []mesos.CommandInfo_URI{uri}, dir); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dir, "tool.sh")); got != "v1" {
			t.Fatalf("tool.sh = %q", got)
		}
		if st, _ := os.Stat(filepath.Join(dir, "tool.sh")); st.Mode().Perm()&0o100 == 0 {
			t.Error("cached copy lost the executable bit")
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server hit %d times with cache on, want 1", n)
	}
	uncached := mesos.CommandInfo_URI{Value: base + "/tool.sh"}
	if err := f.Fetch(context.Background(), []mesos.CommandInfo_URI{uncached}, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("server hit %d times after an uncached fetch, want 2", n)
	}
}
