package monitor

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

func TestBundleCacheIsBatchDisk(t *testing.T) {
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	host := newFakeHost(t, 4, 16384)
	cache := filepath.Join(t.TempDir(), "bundles")
	if err := os.MkdirAll(filepath.Join(cache, "sha256-x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "sha256-x", "f"), make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{
		AgentHostname: "h1", EtcdPrefix: "/t/", Listen: "127.0.0.1:0",
		ProcRoot: host.procRoot, SysRoot: host.sysRoot, CgroupRoot: host.cgRoot,
		BundleCacheDirs: []string{cache},
		Policy:          testPolicy(), Reservations: &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}, Throttler: &fakeThrottle{}, Etcd: etcd,
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1_800_000_000, 0)
	m.now = func() time.Time { return clock }
	for range 2 {
		host.advance()
		clock = clock.Add(time.Second)
		m.Tick(t.Context())
	}
	want := float64(rootfs.DiskUsage(cache)) / mib
	if st := m.Status(); want < 4 || st.BatchDiskMB != want {
		t.Fatalf("batch disk %.2f MB, the cache uses %.2f MB", st.BatchDiskMB, want)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "gleaner_monitor_batch_disk_bytes{") {
		t.Fatal("no batch disk gauge in the scrape")
	}
	if _, err := New(Config{AgentHostname: "h1", ProcRoot: host.procRoot, BundleCacheDirs: []string{"bundles"},
		Reservations: &fakeMaster{}, Throttler: &fakeThrottle{}, Etcd: etcd}); err == nil || !strings.Contains(err.Error(), `"bundles"`) {
		t.Fatalf("relative bundle cache directory: %v", err)
	}
}
