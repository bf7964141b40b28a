package sampler

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/rootfs"
)

// cacheBundle puts a bundle of one size-byte random file into c.
func cacheBundle(t *testing.T, c *rootfs.Cache, size int, seed int64) {
	t.Helper()
	body := make([]byte, size)
	rand.New(rand.NewSource(seed)).Read(body)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "data", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if _, err := c.Put(rootfs.DigestPrefix+hex.EncodeToString(sum[:]), bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
}

func TestBundleCacheCountsAsBatchDisk(t *testing.T) {
	const mb = 1 << 20
	cache, err := rootfs.NewCache(filepath.Join(t.TempDir(), "bundles"))
	if err != nil {
		t.Fatal(err)
	}
	cacheBundle(t, cache, 3*mb, 1)
	cfg := fixture(t, "v2-t0")
	cfg.BatchDiskDirs = []string{cache.Dir, filepath.Join(t.TempDir(), "absent")}
	cfg.DiskInterval = time.Hour
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c0, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c0.BatchDisk < 3*mb || c0.BatchDisk != uint64(rootfs.DiskUsage(cache.Dir)) {
		t.Fatalf("batch disk %d bytes, the cache holds %d", c0.BatchDisk, rootfs.DiskUsage(cache.Dir))
	}
	if smp := Compute(c0, c0); smp.BatchDiskMB != float64(c0.BatchDisk)/mb {
		t.Fatalf("sample batch disk %.1f MB, counters %d bytes", smp.BatchDiskMB, c0.BatchDisk)
	}
	// Within DiskInterval the last walk is reported; after it, a new one.
	cacheBundle(t, cache, 2*mb, 2)
	if got := s.batchDisk(c0.Time.Add(time.Minute)); got != c0.BatchDisk {
		t.Fatalf("walked again within the interval: %d", got)
	}
	if got := s.batchDisk(c0.Time.Add(time.Hour)); got < c0.BatchDisk+2*mb {
		t.Fatalf("second bundle not counted after the interval: %d, was %d", got, c0.BatchDisk)
	}
	// No directories: no batch disk.
	if c := read(t, fixture(t, "v2-t0")); c.BatchDisk != 0 {
		t.Fatalf("batch disk %d without directories", c.BatchDisk)
	}
	if _, err := New(Config{ProcRoot: cfg.ProcRoot, BatchDiskDirs: []string{"relative/bundles"}}); err == nil {
		t.Fatal("relative batch disk directory accepted")
	}
}
