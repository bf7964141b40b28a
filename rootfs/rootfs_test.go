package rootfs_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
)

type entry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func mkTar(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		if e.mode == 0 {
			e.mode = 0o644
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBuildIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	tree1 := rootfstest.Tree(t, filepath.Join(dir, "a"), map[string]string{"etc/motd": "hello\n"})
	tree2 := rootfstest.Tree(t, filepath.Join(dir, "b"), map[string]string{"etc/motd": "hello\n"})
	// Different times, modes and owners on the second copy must not matter.
	old := time.Date(2011, 3, 4, 5, 6, 7, 0, time.UTC)
	_ = filepath.Walk(tree2, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink == 0 {
			_ = os.Chtimes(p, old, old)
			_ = os.Chown(p, 1234, 5678)
		}
		return nil
	})
	if err := os.Chmod(filepath.Join(tree2, "etc/motd"), 0o600); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(dir, "app.sh")
	if err := os.WriteFile(extra, []byte("#!/bin/sh\necho app\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	build := func(base string) (rootfs.Result, []byte) {
		var buf bytes.Buffer
		res, err := rootfs.Build(context.Background(), rootfs.BuildOptions{Base: base, Adds: []rootfs.Add{{Src: extra, Dst: "/opt/app/"}}}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		return res, buf.Bytes()
	}
	r1, b1 := build(tree1)
	r2, b2 := build(tree2)
	if r1.Digest != r2.Digest || !bytes.Equal(b1, b2) {
		t.Fatalf("same inputs gave different bundles: %s vs %s", r1.Digest, r2.Digest)
	}
	if r1.Size != int64(len(b1)) {
		t.Fatalf("size %d, wrote %d", r1.Size, len(b1))
	}
	// The tar inside: sorted, fixed times, owners 0, normalised modes.
	zr, err := gzipReader(b1)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		modes[h.Name] = h.Mode
		if !h.ModTime.Equal(rootfs.Epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v uid %d gid %d uname %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
	}
	if names[len(names)-1] != rootfs.ManifestPath {
		t.Errorf("last entry %q, want the manifest", names[len(names)-1])
	}
	body := names[:len(names)-2]
	for i := 1; i < len(body); i++ {
		if strings.TrimSuffix(body[i-1], "/") >= strings.TrimSuffix(body[i], "/") {
			t.Errorf("entries not sorted: %q before %q", body[i-1], body[i])
		}
	}
	if modes["etc/motd"] != 0o644 || modes["opt/app/app.sh"] != 0o755 || modes["tmp/"] != 0o1777 || modes["bin/busybox"] != 0o755 {
		t.Errorf("modes not normalised: %v", modes)
	}
	p := filepath.Join(dir, "out.tar.gz")
	if err := os.WriteFile(p, b1, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := rootfs.Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Digest != r1.Digest || info.Manifest.Format != rootfs.Format || info.Manifest.Files != r1.Manifest.Files ||
		info.Manifest.Symlinks != len(rootfstest.Applets) {
		t.Fatalf("inspect: %+v", info)
	}
}

func gzipReader(b []byte) (io.Reader, error) { return gunzip(b) }

func TestBuildFromRootfsTarAndHardlinks(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.tar")
	if err := os.WriteFile(base, mkTar(t,
		entry{name: "usr/", typ: tar.TypeDir, mode: 0o700},
		entry{name: "usr/bin/tool", typ: tar.TypeReg, body: "tool", mode: 0o4755},
		entry{name: "usr/bin/alias", typ: tar.TypeLink, link: "usr/bin/tool"},
		entry{name: "dev/null", typ: tar.TypeChar},
	), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "b.tar.gz")
	res, err := rootfs.BuildFile(context.Background(), rootfs.BuildOptions{Base: base}, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Hardlinks != 1 || res.Manifest.Files != 1 {
		t.Fatalf("manifest %+v", res.Manifest)
	}
	c, err := rootfs.NewCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := c.PutFile(res.Digest, out)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(root, "usr/bin/tool"))
	b, _ := os.Stat(filepath.Join(root, "usr/bin/alias"))
	if a == nil || b == nil || !os.SameFile(a, b) || a.Mode().Perm() != 0o755 || a.Mode()&os.ModeSetuid != 0 {
		t.Fatalf("hard link or mode lost: %v %v", a, b)
	}
	if _, err := os.Lstat(filepath.Join(root, "dev/null")); err == nil {
		t.Fatal("device node made it into the bundle")
	}
}

func layer(t *testing.T, es ...entry) v1.Layer {
	t.Helper()
	b := mkTar(t, es...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testImage(t *testing.T) v1.Image {
	img, err := mutate.AppendLayers(empty.Image,
		layer(t, entry{name: "etc/", typ: tar.TypeDir, mode: 0o755},
			entry{name: "etc/keep", typ: tar.TypeReg, body: "keep"},
			entry{name: "etc/gone", typ: tar.TypeReg, body: "gone"},
			entry{name: "opt/old/x", typ: tar.TypeReg, body: "x"}),
		layer(t, entry{name: "etc/.wh.gone", typ: tar.TypeReg},
			entry{name: "opt/old/.wh..wh..opq", typ: tar.TypeReg},
			entry{name: "opt/old/y", typ: tar.TypeReg, body: "y"},
			entry{name: "bin/sh", typ: tar.TypeSymlink, link: "/bin/busybox"}))
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/sh"}, WorkingDir: "/opt"})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func checkFlattened(t *testing.T, res rootfs.Result, root string) {
	t.Helper()
	for p, want := range map[string]bool{"etc/keep": true, "etc/gone": false, "opt/old/x": false, "opt/old/y": true, "bin/sh": true} {
		_, err := os.Lstat(filepath.Join(root, p))
		if (err == nil) != want {
			t.Errorf("%s: present=%v, want %v", p, err == nil, want)
		}
	}
	if res.Manifest.Image == nil || res.Manifest.Image.WorkingDir != "/opt" || len(res.Manifest.Image.Env) != 1 {
		t.Errorf("image config not kept: %+v", res.Manifest.Image)
	}
}

func TestBuildFromDockerSaveTarball(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "img.tar")
	if err := tarball.WriteToFile(p, name.MustParseReference("example.com/test:1"), testImage(t)); err != nil {
		t.Fatal(err)
	}
	buildFromBase(t, dir, p, rootfs.BaseDockerImage)
}

func TestBuildFromOCILayoutTarball(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t)
	var es []entry
	blob := func(h v1.Hash, b []byte) {
		es = append(es, entry{name: "blobs/" + h.Algorithm + "/" + h.Hex, typ: tar.TypeReg, body: string(b)})
	}
	man, _ := img.RawManifest()
	md, _ := img.Digest()
	blob(md, man)
	cfg, _ := img.RawConfigFile()
	cd, _ := img.ConfigName()
	blob(cd, cfg)
	layers, _ := img.Layers()
	for _, l := range layers {
		rc, _ := l.Compressed()
		b, _ := io.ReadAll(rc)
		d, _ := l.Digest()
		blob(d, b)
	}
	mt, _ := img.MediaType()
	index := `{"schemaVersion":2,"manifests":[{"mediaType":"` + string(mt) + `","digest":"` + md.String() + `","size":` + strconv.Itoa(len(man)) + `}]}`
	es = append(es, entry{name: "oci-layout", typ: tar.TypeReg, body: `{"imageLayoutVersion":"1.0.0"}`},
		entry{name: "index.json", typ: tar.TypeReg, body: index})
	p := filepath.Join(dir, "oci.tar")
	if err := os.WriteFile(p, mkTar(t, es...), 0o644); err != nil {
		t.Fatal(err)
	}
	buildFromBase(t, dir, p, rootfs.BaseOCILayout)
}

// buildFromBase checks that base file p is detected as want, builds a bundle
// from it in dir, unpacks it through a cache and checks the flattened tree.
func buildFromBase(t *testing.T, dir, p string, want rootfs.BaseKind) {
	t.Helper()
	if k, err := rootfs.DetectBase(p); err != nil || k != want {
		t.Fatalf("detect %v %v", k, err)
	}
	out := filepath.Join(dir, "b.tar.gz")
	res, err := rootfs.BuildFile(context.Background(), rootfs.BuildOptions{Base: p}, out)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := rootfs.NewCache(filepath.Join(dir, "cache"))
	root, err := c.PutFile(res.Digest, out)
	if err != nil {
		t.Fatal(err)
	}
	checkFlattened(t, res, root)
}

func TestExtractRefusesUnsafeEntries(t *testing.T) {
	cases := []struct {
		name    string
		entries []entry
		bad     string
	}{
		{"dotdot", []entry{{name: "../evil", typ: tar.TypeReg, body: "x"}}, "../evil"},
		{"inner dotdot", []entry{{name: "a/../../evil", typ: tar.TypeReg, body: "x"}}, "a/../../evil"},
		{"absolute", []entry{{name: "/etc/evil", typ: tar.TypeReg, body: "x"}}, "/etc/evil"},
		{"symlink escape", []entry{{name: "up", typ: tar.TypeSymlink, link: "../../.."}}, "up"},
		{"write through symlink", []entry{{name: "d", typ: tar.TypeSymlink, link: "/tmp"}, {name: "d/evil", typ: tar.TypeReg, body: "x"}}, "d/evil"},
		{"hardlink escape", []entry{{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}}, "h"},
		{"hardlink absolute", []entry{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}, "h"},
		{"hardlink via symlink", []entry{{name: "s", typ: tar.TypeSymlink, link: "/etc"}, {name: "h", typ: tar.TypeLink, link: "s/passwd"}}, "h"},
		{"char device", []entry{{name: "dev/mem", typ: tar.TypeChar}}, "dev/mem"},
		{"block device", []entry{{name: "dev/sda", typ: tar.TypeBlock}}, "dev/sda"},
		{"fifo", []entry{{name: "p", typ: tar.TypeFifo}}, "p"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "root")
			err := rootfs.Extract(bytes.NewReader(mkTar(t, c.entries...)), root, rootfs.ExtractOptions{})
			var ue *rootfs.UnsafeEntryError
			if !errors.As(err, &ue) || ue.Entry != c.bad {
				t.Fatalf("err = %v, want an unsafe-entry error naming %q", err, c.bad)
			}
			if !strings.Contains(err.Error(), c.bad) {
				t.Fatalf("error %q does not name the entry", err)
			}
			assertContained(t, base, root)
		})
	}
}

func TestExtractAcceptsRootfsShapes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	err := rootfs.Extract(bytes.NewReader(mkTar(t,
		entry{name: "./", typ: tar.TypeDir, mode: 0o755},
		entry{name: "./bin/busybox", typ: tar.TypeReg, body: "bb", mode: 0o755},
		entry{name: "bin/sh", typ: tar.TypeSymlink, link: "/bin/busybox"},
		entry{name: "bin/ls", typ: tar.TypeSymlink, link: "busybox"},
		entry{name: "usr/lib/x", typ: tar.TypeSymlink, link: "../../bin/busybox"},
		entry{name: "bin/cat", typ: tar.TypeLink, link: "bin/busybox"},
		entry{name: "bin/sh", typ: tar.TypeSymlink, link: "busybox"}, // replaced, not followed
	)), root, rootfs.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := os.Readlink(filepath.Join(root, "bin/sh")); l != "busybox" {
		t.Fatalf("bin/sh -> %q", l)
	}
}

// assertContained fails when anything but root appeared under base, or when a
// symlink in root points above it.
func assertContained(t testing.TB, base, root string) {
	t.Helper()
	ents, _ := os.ReadDir(base)
	for _, e := range ents {
		if e.Name() != "root" && e.Name() != "outside" {
			t.Fatalf("extraction wrote outside the root: %s", e.Name())
		}
	}
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return nil
		}
		l, _ := os.Readlink(p)
		if !filepath.IsAbs(l) {
			rel, _ := filepath.Rel(root, filepath.Join(filepath.Dir(p), l))
			if rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("symlink %s -> %s escapes the root", p, l)
			}
		}
		return nil
	})
}

func TestCacheVerifiesDigest(t *testing.T) {
	dir := t.TempDir()
	bundle, digest := rootfstest.Bundle(t, dir, nil)
	c, err := rootfs.NewCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	wrong := "sha256:" + strings.Repeat("0", 64)
	if _, err := c.PutFile(wrong, bundle); !errors.As(err, new(*rootfs.DigestMismatchError)) {
		t.Fatalf("wrong digest accepted: %v", err)
	}
	if _, ok := c.Get(wrong); ok {
		t.Fatal("mismatching bundle kept in the cache")
	}
	if _, err := c.PutFile("md5:abc", bundle); err == nil {
		t.Fatal("malformed digest accepted")
	}
	if _, ok := c.Get(digest); ok {
		t.Fatal("cache hit before Put")
	}
	var wg sync.WaitGroup
	paths := make([]string, 4)
	errs := make([]error, 4)
	for i := range paths {
		wg.Add(1)
		go func(i int) { defer wg.Done(); paths[i], errs[i] = c.PutFile(digest, bundle) }(i)
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("concurrent put %d: %q %v", i, paths[i], errs[i])
		}
	}
	got, ok := c.Get(digest)
	if !ok || got != paths[0] {
		t.Fatalf("get after put: %q %v", got, ok)
	}
	if fi, err := os.Lstat(filepath.Join(got, "bin/sh")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("bin/sh: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(got, ".gleaner")); err == nil {
		t.Fatal("manifest directory left in the extracted tree")
	}
	// A corrupted copy is refused.
	b, _ := os.ReadFile(bundle)
	b[len(b)/2] ^= 0xff
	bad := filepath.Join(dir, "bad.tar.gz")
	_ = os.WriteFile(bad, b, 0o644)
	c2, _ := rootfs.NewCache(filepath.Join(dir, "cache2"))
	if _, err := c2.PutFile(digest, bad); err == nil {
		t.Fatal("corrupted bundle accepted")
	}
}

func TestPublish(t *testing.T) {
	dir := t.TempDir()
	bundle, digest := rootfstest.Bundle(t, dir, nil)
	store := filepath.Join(dir, "store")
	uri, d, err := rootfs.Publish(context.Background(), bundle, "file://"+store+"/")
	if err != nil {
		t.Fatal(err)
	}
	name, _ := rootfs.ContentName(digest)
	if d != digest || uri != "file://"+filepath.Join(store, name) {
		t.Fatalf("published %s %s", uri, d)
	}
	if err := rootfs.VerifyFile(filepath.Join(store, name), digest); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "no", http.StatusMethodNotAllowed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path] = b
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	uri, _, err = rootfs.Publish(context.Background(), bundle, srv.URL+"/bundles/")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(bundle)
	if uri != srv.URL+"/bundles/"+name || !bytes.Equal(got["/bundles/"+name], want) {
		t.Fatalf("http publish: %s, stored %v", uri, len(got))
	}
	if _, _, err := rootfs.Publish(context.Background(), bundle, "ftp://x/"); err == nil {
		t.Fatal("ftp accepted")
	}
}

func TestCacheFetchSources(t *testing.T) {
	dir := t.TempDir()
	bundle, digest := rootfstest.Bundle(t, dir, nil)
	body, _ := os.ReadFile(bundle)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/b.tar.gz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	ctx := context.Background()
	for i, src := range []struct {
		uri   string
		cands []string
	}{
		{srv.URL + "/b.tar.gz", nil},
		{"file://" + bundle, nil},
		{"http://127.0.0.1:1/unreachable", []string{bundle}}, // the sandbox copy wins
	} {
		c, _ := rootfs.NewCache(filepath.Join(dir, "cache"+strconv.Itoa(i)))
		l, err := c.Acquire(ctx, digest, src.uri, src.cands...)
		if err != nil {
			t.Fatalf("%s: %v", src.uri, err)
		}
		if _, err := os.Stat(filepath.Join(l.Dir, "bin/busybox")); err != nil {
			t.Fatalf("%s: %v", src.uri, err)
		}
		l.Release()
	}
	c, _ := rootfs.NewCache(filepath.Join(dir, "cache-miss"))
	if _, err := c.Acquire(ctx, digest, srv.URL+"/nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing bundle: %v", err)
	}
	if _, err := c.Acquire(ctx, digest, "s3://bucket/x"); err == nil {
		t.Fatal("unsupported scheme accepted")
	}
	if ents, _ := os.ReadDir(c.Dir); len(ents) != 0 {
		t.Fatalf("failed fetches left %v in the cache", ents)
	}
}
