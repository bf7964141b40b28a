package rootfs_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/rootfs"
)

// randomBundle writes a bundle holding one file of size random bytes (so
// it does not compress) to dir/name.tar.gz and returns its path and digest.
func randomBundle(t testing.TB, dir, name string, size int, seed int64) (string, string) {
	t.Helper()
	body := make([]byte, size)
	rand.New(rand.NewSource(seed)).Read(body)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(mkTar(t, entry{name: "data/" + name, typ: tar.TypeReg, body: string(body)}))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return p, rootfs.DigestPrefix + hex.EncodeToString(sum[:])
}

// lastUsed sets the bundle's last use, as a lease taken at that time would.
func lastUsed(t *testing.T, c *rootfs.Cache, digest string, at time.Time) {
	t.Helper()
	dir, ok := c.Get(digest)
	if !ok {
		t.Fatalf("%s not cached", digest)
	}
	if err := os.Chtimes(dir+".use", at, at); err != nil {
		t.Fatal(err)
	}
}

func TestCacheEvictsLeastRecentlyUsedUnderCap(t *testing.T) {
	src := t.TempDir()
	const size = 1 << 20
	var paths, digests [4]string
	for i := range paths {
		paths[i], digests[i] = randomBundle(t, src, string(rune('a'+i)), size, int64(i))
	}
	c, err := rootfs.NewCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	c.CapBytes = 3*size + size/2 // room for three bundles, not four
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	for i := 0; i < 3; i++ {
		l, err := c.Acquire(ctx, digests[i], paths[i])
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
	}
	// Used order: b (oldest), c, a (newest).
	lastUsed(t, c, digests[1], base)
	lastUsed(t, c, digests[2], base.Add(time.Minute))
	lastUsed(t, c, digests[0], base.Add(2*time.Minute))

	l, err := c.Acquire(ctx, digests[3], paths[3])
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	for i, want := range []bool{true, false, true, true} {
		if _, ok := c.Get(digests[i]); ok != want {
			t.Errorf("bundle %c cached %v, want %v", 'a'+i, ok, want)
		}
	}
	if used := rootfs.DiskUsage(c.Dir); used > c.CapBytes {
		t.Fatalf("cache uses %d bytes, cap %d", used, c.CapBytes)
	}
}

func TestCacheNeverEvictsBundlesInUse(t *testing.T) {
	src := t.TempDir()
	const size = 1 << 20
	var paths, digests [3]string
	for i := range paths {
		paths[i], digests[i] = randomBundle(t, src, string(rune('a'+i)), size, int64(10+i))
	}
	c, err := rootfs.NewCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	c.CapBytes = size + size/2 // room for one bundle
	ctx := context.Background()
	held, err := c.Acquire(ctx, digests[0], paths[0])
	if err != nil {
		t.Fatal(err)
	}
	// A second cache on the same directory is another executor on the host.
	other := &rootfs.Cache{Dir: c.Dir, CapBytes: c.CapBytes}
	heldToo, err := other.Acquire(ctx, digests[1], paths[1])
	if err != nil {
		t.Fatal(err)
	}
	lastUsed(t, c, digests[0], time.Now().Add(-time.Hour))
	lastUsed(t, c, digests[1], time.Now().Add(-time.Hour))
	if freed, err := c.Evict(); err != nil || freed != 0 {
		t.Fatalf("evicted %d bytes of bundles in use: %v", freed, err)
	}
	for i := 0; i < 2; i++ {
		if _, ok := c.Get(digests[i]); !ok {
			t.Fatalf("bundle %c in use was evicted", 'a'+i)
		}
	}
	// Over the cap with both held: a third bundle still lands, and stays
	// while it is held; the first goes once released.
	l, err := c.Acquire(ctx, digests[2], paths[2])
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	heldToo.Release()
	heldToo.Release() // twice is harmless
	if freed, err := c.Evict(); err != nil || freed < size {
		t.Fatalf("released bundle not evicted: freed %d, %v", freed, err)
	}
	if _, ok := c.Get(digests[1]); ok {
		t.Fatal("released, least recently used bundle kept over the cap")
	}
	for _, i := range []int{0, 2} {
		if _, ok := c.Get(digests[i]); !ok {
			t.Fatalf("bundle %c in use was evicted", 'a'+i)
		}
	}
	held.Release()
	// Re-acquiring an evicted bundle fetches it again.
	again, err := c.Acquire(ctx, digests[1], paths[1])
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release()
	if _, err := os.Stat(filepath.Join(again.Dir, "data/b")); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(digests[0]); ok {
		t.Fatal("released bundle a kept over the cap")
	}
}

func TestEvictRemovesLeftoversOfDeadExecutors(t *testing.T) {
	c, err := rootfs.NewCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	old, fresh := time.Now().Add(-7*time.Hour), time.Now()
	for name, at := range map[string]time.Time{".spool-1": old, ".put-1": old, ".evict-1": old, ".put-2": fresh, ".spool-2": fresh} {
		p := filepath.Join(c.Dir, name)
		if err := os.MkdirAll(filepath.Join(p, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Evict(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(c.Dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if len(left) != 2 || left[0] != ".put-2" || left[1] != ".spool-2" {
		t.Fatalf("left %v, want the fresh .put-2 and .spool-2 only", left)
	}
}
