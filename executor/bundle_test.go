package executor_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/executor"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/rootfs"
)

// zerosBundle writes a gzip bundle holding one file of size zero bytes.
func zerosBundle(t *testing.T, dir string, size int64) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(chunk)) {
		if _, err := tw.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(tw.Close(), zw.Close()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bomb.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return p, rootfs.DigestPrefix + hex.EncodeToString(sum[:])
}

func TestBundleBombFailsTheTaskNamingTheFlag(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "bundles")
	h := startTB(t, false, func(c *executor.Config) {
		c.BundleCache = cache
		c.BundleLimits.ExtractedBytes = 16 << 20
	})
	bomb, digest := zerosBundle(t, t.TempDir(), 256<<20)
	h.launch("bomb", payload("true", true, func(p *gleanerpb.TaskPayload) { p.Bundle = &gleanerpb.Bundle{Uri: bomb, Digest: digest} }))
	st, _ := h.terminal("bomb", 60*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED ||
		!strings.Contains(st.GetMessage(), "extracted size limit of 16777216") || !strings.Contains(st.GetMessage(), "--bundle-max-extracted") {
		t.Fatalf("%s %s %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
	for _, dir := range []string{cache, h.sandbox} {
		if used := rootfs.DiskUsage(dir); used > 1<<20 {
			t.Fatalf("%d bytes left under %s", used, dir)
		}
	}
}

func TestRunningTaskHoldsItsBundleInTheCache(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "bundles")
	h := startTB(t, false, func(c *executor.Config) { c.BundleCache = cache })
	h.launch("holder", payload("sleep 60", true, nil))
	if _, err := h.agent.WaitState("holder", mesos.TASK_RUNNING, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Another executor of the host, with a cache far over its cap.
	other := &rootfs.Cache{Dir: cache, CapBytes: 1}
	if freed, err := other.Evict(); err != nil || freed != 0 {
		t.Fatalf("evicted %d bytes while the task ran: %v", freed, err)
	}
	if _, ok := other.Get(bundleDigest); !ok {
		t.Fatal("running task's bundle evicted")
	}
	h.agent.Kill("holder", 0)
	h.terminal("holder", 30*time.Second)
	if freed, err := other.Evict(); err != nil || freed == 0 {
		t.Fatalf("bundle of an ended task not released: freed %d, %v", freed, err)
	}
	if _, ok := other.Get(bundleDigest); ok {
		t.Fatal("bundle still cached after its eviction")
	}
}

func TestBundleLimitFlags(t *testing.T) {
	f := executor.DefaultFlags()
	var cfg executor.Config
	if err := f.Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.BundleLimits.WithDefaults() != rootfs.DefaultLimits || cfg.BundleCacheBytes != rootfs.DefaultCacheBytes {
		t.Fatalf("defaults: %+v, cache %d", cfg.BundleLimits, cfg.BundleCacheBytes)
	}
	f.BundleMaxExtracted = -1
	if err := f.Apply(&cfg); err == nil || !strings.Contains(err.Error(), "--bundle-max-extracted -1") {
		t.Fatalf("negative limit: %v", err)
	}
	for limit := range map[string]bool{rootfs.LimitCompressedBytes: true, rootfs.LimitExtractedBytes: true,
		rootfs.LimitEntries: true, rootfs.LimitFileBytes: true, rootfs.LimitCacheBytes: true} {
		flag := executor.BundleLimitFlags[limit]
		if _, ok := executor.FlagUsage[flag]; !ok {
			t.Errorf("limit %q: flag %q is not documented", limit, flag)
		}
	}
}
