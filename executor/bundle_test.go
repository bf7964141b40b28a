package executor_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/executor"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
)

// zerosBundle writes rootfstest.Bomb to a file.
func zerosBundle(t *testing.T, dir string, size int64) (string, string) {
	t.Helper()
	b, digest := rootfstest.Bomb(t, size)
	p := filepath.Join(dir, "bomb.tar.gz")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, digest
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

// An http bundle server that sends half the bundle and stalls fails the
// launch within --bundle-fetch-stall, naming the flag, instead of hanging it.
func TestStalledBundleDownloadFailsTheTaskNamingTheFlag(t *testing.T) {
	b, digest := rootfstest.Bomb(t, 8<<20)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	h := startTB(t, false, func(c *executor.Config) {
		c.BundleCache = filepath.Join(t.TempDir(), "bundles")
		c.BundleFetch.Stall = 500 * time.Millisecond
	})
	h.launch("stalled", payload("true", true, func(p *gleanerpb.TaskPayload) {
		p.Bundle = &gleanerpb.Bundle{Uri: srv.URL + "/b.tar.gz", Digest: digest}
	}))
	st, _ := h.terminal("stalled", 60*time.Second)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED ||
		!strings.Contains(st.GetMessage(), "stalled") || !strings.Contains(st.GetMessage(), "--bundle-fetch-stall") {
		t.Fatalf("%s %s %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
}

func TestBundleFetchFlags(t *testing.T) {
	f := executor.DefaultFlags()
	var cfg executor.Config
	if err := f.Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.BundleFetch != rootfs.DefaultFetchTimeouts {
		t.Fatalf("defaults: %+v", cfg.BundleFetch)
	}
	f.BundleFetchStall = -time.Second
	if err := f.Apply(&cfg); err == nil || !strings.Contains(err.Error(), "--bundle-fetch-stall") {
		t.Fatalf("negative stall: %v", err)
	}
	for phase, flag := range executor.BundleFetchFlags {
		if _, ok := executor.FlagUsage[flag]; !ok {
			t.Errorf("phase %q: flag %q is not documented", phase, flag)
		}
	}
}
