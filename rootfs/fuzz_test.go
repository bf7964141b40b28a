package rootfs_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gleaner-project/gleaner/rootfs"
)

// seedTars are the malicious and benign archives FuzzExtract starts from;
// they are also written to testdata/ by GLEANER_WRITE_SEEDS=1 go test -run TestWriteSeeds.
func seedTars(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"dotdot.tar":          mkTar(t, entry{name: "../evil", typ: tar.TypeReg, body: "x"}),
		"absolute.tar":        mkTar(t, entry{name: "/etc/evil", typ: tar.TypeReg, body: "x"}),
		"symlink-escape.tar":  mkTar(t, entry{name: "up", typ: tar.TypeSymlink, link: "../.."}, entry{name: "up/evil", typ: tar.TypeReg, body: "x"}),
		"symlink-through.tar": mkTar(t, entry{name: "d", typ: tar.TypeSymlink, link: "/"}, entry{name: "d/tmp/evil", typ: tar.TypeReg, body: "x"}),
		"hardlink-escape.tar": mkTar(t, entry{name: "h", typ: tar.TypeLink, link: "../outside/file"}),
		"device.tar":          mkTar(t, entry{name: "dev/mem", typ: tar.TypeChar}),
		"many-entries.tar":    mkTar(t, manyEntries(fuzzLimits.MaxEntries+1)...),
		"deep.tar":            mkTar(t, entry{name: strings.Repeat("d/", fuzzLimits.MaxPathDepth) + "f", typ: tar.TypeReg, body: "x"}),
		"big-file.tar":        mkTar(t, entry{name: "big", typ: tar.TypeReg, body: strings.Repeat("0", int(fuzzLimits.MaxFileBytes)+1)}),
		"bomb.tar.gz":         gzipped(t, mkTar(t, entry{name: "a", typ: tar.TypeReg, body: strings.Repeat("0", int(fuzzLimits.MaxFileBytes))}, entry{name: "b", typ: tar.TypeReg, body: strings.Repeat("0", int(fuzzLimits.MaxFileBytes))}, entry{name: "c", typ: tar.TypeReg, body: strings.Repeat("0", int(fuzzLimits.MaxFileBytes))})),
		"benign.tar": mkTar(t, entry{name: "bin/", typ: tar.TypeDir, mode: 0o755},
			entry{name: "bin/busybox", typ: tar.TypeReg, body: "bb", mode: 0o755},
			entry{name: "bin/sh", typ: tar.TypeSymlink, link: "busybox"},
			entry{name: "bin/cat", typ: tar.TypeLink, link: "bin/busybox"}),
	}
}

// fuzzLimits are small, so mutated seeds cross every one of them.
var fuzzLimits = rootfs.ExtractOptions{MaxBytes: 40 << 10, MaxEntries: 64, MaxFileBytes: 16 << 10, MaxPathBytes: 256, MaxPathDepth: 16}

func manyEntries(n int64) []entry {
	es := make([]entry, n)
	for i := range es {
		es[i] = entry{name: "f" + strconv.Itoa(i), typ: tar.TypeReg, body: "x"}
	}
	return es
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seedFiles are the seeds as written to testdata/.
func seedFiles(tb testing.TB) []string {
	seeds, _ := filepath.Glob("testdata/*.tar*")
	if len(seeds) == 0 {
		tb.Fatal("no seeds in testdata/*.tar*")
	}
	return seeds
}

// assertWithinLimits walks an extracted tree and checks it keeps to opt:
// whatever Extract returned, it never leaves more than the limits allow.
func assertWithinLimits(t testing.TB, root string, opt rootfs.ExtractOptions) {
	t.Helper()
	var entries, total int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return nil
		}
		entries++
		rel, _ := filepath.Rel(root, p)
		if depth := strings.Count(rel, "/") + 1; depth > opt.MaxPathDepth {
			t.Fatalf("%s: depth %d over %d", rel, depth, opt.MaxPathDepth)
		}
		if len(rel) > opt.MaxPathBytes {
			t.Fatalf("%s: path of %d bytes over %d", rel, len(rel), opt.MaxPathBytes)
		}
		fi, err := d.Info()
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		if fi.Size() > opt.MaxFileBytes {
			t.Fatalf("%s: %d bytes over the file limit %d", rel, fi.Size(), opt.MaxFileBytes)
		}
		if ino := fi.Sys().(*syscall.Stat_t).Ino; !seen[ino] {
			seen[ino] = true
			total += fi.Size()
		}
		return nil
	})
	if entries > opt.MaxEntries {
		t.Fatalf("%d entries over the limit %d", entries, opt.MaxEntries)
	}
	if total > opt.MaxBytes {
		t.Fatalf("%d bytes over the limit %d", total, opt.MaxBytes)
	}
}

func TestWriteSeeds(t *testing.T) {
	if os.Getenv("GLEANER_WRITE_SEEDS") == "" {
		t.Skip("set GLEANER_WRITE_SEEDS=1 to rewrite testdata/*.tar")
	}
	for n, b := range seedTars(t) {
		if err := os.WriteFile(filepath.Join("testdata", n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range seedFiles(f) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		if err := os.MkdirAll(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outside, "file"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(base, "root")
		_ = rootfs.Extract(bytes.NewReader(data), root, fuzzLimits)
		assertWithinLimits(t, root, fuzzLimits)
		ents, _ := os.ReadDir(base)
		for _, e := range ents {
			if e.Name() != "root" && e.Name() != "outside" {
				t.Fatalf("extraction created %s outside the root", e.Name())
			}
		}
		out, _ := os.ReadDir(outside)
		if len(out) != 1 {
			t.Fatalf("extraction touched the outside directory: %v", out)
		}
		if b, _ := os.ReadFile(filepath.Join(outside, "file")); string(b) != "keep" {
			t.Fatal("extraction modified a file outside the root")
		}
		if fi, err := os.Lstat(filepath.Join(outside, "file")); err != nil || fi.Sys() == nil {
			t.Fatal(err)
		}
		assertContained(t, base+"/.", root)
	})
}

// TestExtractMutatedSeeds runs the fuzz property over deterministic random
// mutations of the seeds, so every `go test` exercises it beyond the seeds.
func TestExtractMutatedSeeds(t *testing.T) {
	seeds := seedFiles(t)
	r := rand.New(rand.NewSource(1))
	n := 400
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		b, err := os.ReadFile(seeds[r.Intn(len(seeds))])
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 1+r.Intn(8); j++ {
			b[r.Intn(len(b))] = byte(r.Intn(256))
		}
		base := t.TempDir()
		root := filepath.Join(base, "root")
		_ = rootfs.Extract(bytes.NewReader(b), root, fuzzLimits)
		assertContained(t, base, root)
		assertWithinLimits(t, root, fuzzLimits)
	}
}
