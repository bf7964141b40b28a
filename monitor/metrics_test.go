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
// with testdata/metrics.golden (timing histograms and the process's own
// process_* and go_* figures left out); run with
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
		if strings.Contains(l, "gleaner_monitor_sample_duration_seconds") || processOrGo(l) {
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

// processOrGo reports whether a scrape line is about a process_* or go_*
// metric (values that change from run to run).
func processOrGo(line string) bool {
	name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
	return strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "go_")
}

// The monitor's registry carries the process's figures beside its own, so
// its memory goal can be checked from a scrape.
func TestMetricsIncludeProcessAndGo(t *testing.T) {
	m := newMetrics("h1", "batch")
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]float64{}
	for _, mf := range mfs {
		if ms := mf.GetMetric(); len(ms) > 0 {
			switch {
			case ms[0].GetGauge() != nil:
				have[mf.GetName()] = ms[0].GetGauge().GetValue()
			default:
				have[mf.GetName()] = 1
			}
		}
	}
	for _, name := range []string{"process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
		"go_goroutines", "go_memstats_heap_inuse_bytes", "gleaner_monitor_batch_cpus", "gleaner_monitor_errors_total"} {
		if _, ok := have[name]; !ok {
			t.Errorf("no %s in the monitor's scrape", name)
		}
	}
	if rss := have["process_resident_memory_bytes"]; rss <= 0 {
		t.Errorf("process_resident_memory_bytes = %v", rss)
	}
}
