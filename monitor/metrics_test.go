package monitor

import (
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/monitor/policy"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestMetricsGolden compares a scrape after two samples of a fixture host
// with testdata/metrics.golden (timing histograms left out); run with
// -update to rewrite it.
func TestMetricsGolden(t *testing.T) {
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	host := newFakeHost(t, 4, 16384)
	host.busCPU, host.batchCPU, host.busMemMB, host.batchMemMB = 0.5, 1, 2000, 1000
	r := newRig(t, etcd, &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}, host)
	r.tick()
	host.busCPU = 3
	r.tick()

	rec := httptest.NewRecorder()
	r.m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var lines []string
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.Contains(l, "gleaner_monitor_sample_duration_seconds") {
			continue
		}
		lines = append(lines, l)
	}
	got := strings.Join(lines, "\n")
	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("scrape differs from %s (run with -update after checking):\n%s", golden, got)
	}
}
