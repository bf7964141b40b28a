package rootfs_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
)

// diskBytes is what dir takes on disk (allocated blocks, like du).
func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var total int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			total += fi.Sys().(*syscall.Stat_t).Blocks * 512
		}
		return nil
	})
	return total
}

// watchedReader hands out at most 4 KiB per Read and records the largest
// disk use of dir seen between reads, so a consumer writing while it reads
// is caught.
type watchedReader struct {
	t    testing.TB
	r    io.Reader
	dir  string
	peak int64
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.peak = max(w.peak, diskBytes(w.t, w.dir))
	if len(p) > 4096 {
		p = p[:4096]
	}
	return w.r.Read(p)
}

func TestCacheRefusesBundleBomb(t *testing.T) {
	const extracted = 256 << 20
	bomb, digest := rootfstest.Bomb(t, extracted)
	t.Logf("bomb: %d bytes compressed, %d extracted", len(bomb), extracted)
	c, err := rootfs.NewCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	c.Limits.ExtractedBytes = 16 << 20
	_, err = c.Put(digest, bytes.NewReader(bomb))
	var lim *rootfs.LimitError
	if !errors.As(err, &lim) || lim.Limit != rootfs.LimitExtractedBytes || lim.Max != 16<<20 || lim.Entry != "bin/zeros" {
		t.Fatalf("bomb not refused at the extracted-size limit: %v", err)
	}
	if !strings.Contains(err.Error(), "extracted size") || !strings.Contains(err.Error(), "16777216") {
		t.Fatalf("error does not name the limit and its value: %v", err)
	}
	if used := diskBytes(t, c.Dir); used > 64<<10 {
		t.Fatalf("%d bytes left in the cache after the refusal", used)
	}
	if ents, _ := os.ReadDir(c.Dir); len(ents) != 0 {
		t.Fatalf("cache not empty after the refusal: %v", ents)
	}
	// The file size limit refuses the same bomb by itself, before writing.
	c.Limits = rootfs.Limits{FileBytes: 1 << 20}
	if _, err := c.Put(digest, bytes.NewReader(bomb)); !errors.As(err, &lim) || lim.Limit != rootfs.LimitFileBytes {
		t.Fatalf("single file limit: %v", err)
	}
	// And the cache cap bounds a bundle that would never fit.
	c.Limits, c.CapBytes = rootfs.Limits{}, 8<<20
	if _, err := c.Put(digest, bytes.NewReader(bomb)); !errors.As(err, &lim) || lim.Limit != rootfs.LimitCacheBytes {
		t.Fatalf("cache cap as extraction bound: %v", err)
	}
	if ents, _ := os.ReadDir(c.Dir); len(ents) != 0 {
		t.Fatalf("cache not empty after the refusals: %v", ents)
	}
}

func TestCacheWrongDigestExtractsNothing(t *testing.T) {
	bomb, _ := rootfstest.Bomb(t, 256<<20)
	c, err := rootfs.NewCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	wrong := "sha256:" + strings.Repeat("ab", 32)
	src := &watchedReader{t: t, r: bytes.NewReader(bomb), dir: c.Dir}
	_, err = c.Put(wrong, src)
	if !errors.As(err, new(*rootfs.DigestMismatchError)) {
		t.Fatalf("wrong digest: %v", err)
	}
	// Only the compressed stream may be spooled while it is read.
	t.Logf("peak disk use while reading: %d bytes", src.peak)
	bound := int64(len(bomb)) + 64<<10
	if src.peak > bound {
		t.Fatalf("%d bytes on disk while reading a %d-byte bundle with a wrong digest", src.peak, len(bomb))
	}
	if ents, _ := os.ReadDir(c.Dir); len(ents) != 0 {
		t.Fatalf("cache not empty after the refusal: %v", ents)
	}
}

func TestCacheRefusesOversizedCompressedStream(t *testing.T) {
	bomb, digest := rootfstest.Bomb(t, 64<<20)
	c, err := rootfs.NewCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	c.Limits.CompressedBytes = int64(len(bomb)) / 2
	src := &watchedReader{t: t, r: bytes.NewReader(bomb), dir: c.Dir}
	_, err = c.Put(digest, src)
	var lim *rootfs.LimitError
	if !errors.As(err, &lim) || lim.Limit != rootfs.LimitCompressedBytes {
		t.Fatalf("oversized stream: %v", err)
	}
	if src.peak > int64(len(bomb))/2+64<<10 {
		t.Fatalf("%d bytes spooled past a limit of %d", src.peak, len(bomb)/2)
	}
	if ents, _ := os.ReadDir(c.Dir); len(ents) != 0 {
		t.Fatalf("cache not empty after the refusal: %v", ents)
	}
}

func TestExtractLimits(t *testing.T) {
	deep := strings.Repeat("d/", 9) + "f" // 10 components
	for _, c := range []struct {
		name    string
		opt     rootfs.ExtractOptions
		entries []entry
		limit   string // "" when the tar must be accepted
		entry   string
	}{
		{"entries at the bound", rootfs.ExtractOptions{MaxEntries: 2},
			[]entry{{name: "a", typ: tar.TypeReg, body: "x"}, {name: "b", typ: tar.TypeReg, body: "x"}}, "", ""},
		{"one entry too many", rootfs.ExtractOptions{MaxEntries: 2},
			[]entry{{name: "a/", typ: tar.TypeDir}, {name: "a/b", typ: tar.TypeReg}, {name: "a/c", typ: tar.TypeSymlink, link: "b"}}, rootfs.LimitEntries, "a/c"},
		{"implicit parents count", rootfs.ExtractOptions{MaxEntries: 2}, []entry{{name: "a/b/c", typ: tar.TypeReg}}, rootfs.LimitEntries, "a/b/c"},
		{"file at the bound", rootfs.ExtractOptions{MaxFileBytes: 4}, []entry{{name: "f", typ: tar.TypeReg, body: "1234"}}, "", ""},
		{"file over the bound", rootfs.ExtractOptions{MaxFileBytes: 4}, []entry{{name: "f", typ: tar.TypeReg, body: "12345"}}, rootfs.LimitFileBytes, "f"},
		{"total over the bound", rootfs.ExtractOptions{MaxBytes: 8},
			[]entry{{name: "f", typ: tar.TypeReg, body: "12345"}, {name: "g", typ: tar.TypeReg, body: "1234"}}, rootfs.LimitExtractedBytes, "g"},
		{"hard links cost no bytes", rootfs.ExtractOptions{MaxBytes: 5},
			[]entry{{name: "f", typ: tar.TypeReg, body: "12345"}, {name: "g", typ: tar.TypeLink, link: "f"}}, "", ""},
		{"name too long", rootfs.ExtractOptions{MaxPathBytes: 8}, []entry{{name: "123456789", typ: tar.TypeReg}}, rootfs.LimitPathBytes, "123456789"},
		{"link target too long", rootfs.ExtractOptions{MaxPathBytes: 8}, []entry{{name: "l", typ: tar.TypeSymlink, link: "a/b/c/d/e"}}, rootfs.LimitPathBytes, "l"},
		{"depth at the bound", rootfs.ExtractOptions{MaxPathDepth: 10}, []entry{{name: deep, typ: tar.TypeReg}}, "", ""},
		{"too deep", rootfs.ExtractOptions{MaxPathDepth: 9}, []entry{{name: deep, typ: tar.TypeReg}}, rootfs.LimitPathDepth, deep},
		{"defaults accept a plain tree", rootfs.Limits{}.ExtractOptions(), []entry{{name: deep, typ: tar.TypeReg, body: "x"}}, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			err := rootfs.Extract(bytes.NewReader(mkTar(t, c.entries...)), root, c.opt)
			if c.limit == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var le *rootfs.LimitError
			if !errors.As(err, &le) || le.Limit != c.limit || le.Entry != c.entry {
				t.Fatalf("want the %s limit at %q, got %v", c.limit, c.entry, err)
			}
			if _, err := os.Lstat(filepath.Join(root, c.entry)); err == nil {
				t.Fatalf("entry %q over the limit was written", c.entry)
			}
		})
	}
}

func TestLimitsWithDefaults(t *testing.T) {
	got := rootfs.Limits{ExtractedBytes: 5, Entries: -1}.WithDefaults()
	want := rootfs.DefaultLimits
	want.ExtractedBytes = 5
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if (rootfs.Limits{}).WithDefaults() != rootfs.DefaultLimits {
		t.Fatal("zero limits are not the defaults")
	}
}

// Building a bundle from a tarball or image base is bounded like an
// executor's extraction: a gzip bomb base, a bomb layer of a docker image or
// an OCI layout is refused with a LimitError naming the entry, and the
// scratch space is removed.
func TestBuildImportIsBounded(t *testing.T) {
	bomb, _ := rootfstest.Bomb(t, 64<<20)
	dir := t.TempDir()
	tarBase := filepath.Join(dir, "base.tar.gz")
	if err := os.WriteFile(tarBase, bomb, 0o644); err != nil {
		t.Fatal(err)
	}
	plain, err := gunzip(bomb)
	if err != nil {
		t.Fatal(err)
	}
	layerTar, err := io.ReadAll(plain)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	imgBase := filepath.Join(dir, "img.tar")
	if err := tarball.WriteToFile(imgBase, name.MustParseReference("example.com/bomb:1"), img); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{tarBase, imgBase} {
		scratch := t.TempDir()
		_, err := rootfs.Build(context.Background(), rootfs.BuildOptions{Base: base, TempDir: scratch,
			ImportLimits: rootfs.Limits{ExtractedBytes: 16 << 20}}, io.Discard)
		var le *rootfs.LimitError
		if !errors.As(err, &le) || le.Limit != rootfs.LimitExtractedBytes || le.Entry != "bin/zeros" || !strings.Contains(err.Error(), base) {
			t.Errorf("%s: %v, want the extracted size limit at bin/zeros naming the base", base, err)
		}
		if left, _ := os.ReadDir(scratch); len(left) != 0 {
			t.Errorf("%s: scratch space left behind: %v", base, left)
		}
	}
	// Within the limits the same base builds.
	if _, err := rootfs.Build(context.Background(), rootfs.BuildOptions{Base: tarBase, TempDir: t.TempDir(),
		ImportLimits: rootfs.Limits{ExtractedBytes: 128 << 20}}, io.Discard); err != nil {
		t.Fatal(err)
	}
}
