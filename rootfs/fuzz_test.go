package rootfs_test

import (
	"archive/tar"
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
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
		"benign.tar": mkTar(t, entry{name: "bin/", typ: tar.TypeDir, mode: 0o755},
			entry{name: "bin/busybox", typ: tar.TypeReg, body: "bb", mode: 0o755},
			entry{name: "bin/sh", typ: tar.TypeSymlink, link: "busybox"},
			entry{name: "bin/cat", typ: tar.TypeLink, link: "bin/busybox"}),
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
	seeds, _ := filepath.Glob("testdata/*.tar")
	if len(seeds) == 0 {
		f.Fatal("no seeds in testdata/*.tar")
	}
	for _, s := range seeds {
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
		_ = rootfs.Extract(bytes.NewReader(data), root, rootfs.ExtractOptions{MaxBytes: 1 << 20})
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
	seeds, _ := filepath.Glob("testdata/*.tar")
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
		_ = rootfs.Extract(bytes.NewReader(b), root, rootfs.ExtractOptions{MaxBytes: 1 << 20})
		assertContained(t, base, root)
	}
}
