package monitor

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// With --slo-probe-url the scrape shows every probe reading in a histogram,
// the worst reading the policy saw at the latest sample, the objective, and
// the samples that broke it; a monitor without a probe shows none of them
// (TestMetricsGolden).
func TestProbeMetrics(t *testing.T) {
	var slow atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			time.Sleep(100 * time.Millisecond)
		}
	}))
	defer srv.Close()
	etcd := etcdtest.NewClient(t, etcdtest.Start(t))
	host := newFakeHost(t, 4, 16384)
	host.busCPU, host.batchCPU, host.busMemMB, host.batchMemMB = 0.5, 1, 2000, 1000
	r := newRigWith(t, etcd, &fakeMaster{total: policy.Resources{CPUs: 4, MemMB: 16384}}, host, func(c *Config) {
		c.SLOProbeURL = srv.URL + "/"
		c.Policy.LatencySLOMs = 50
	})
	scrape := func() string {
		rec := httptest.NewRecorder()
		r.m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	// probeFor runs the probe (its own loop, as Run does) until n more
	// readings are in the histogram.
	probeFor := func(n float64) {
		t.Helper()
		want := metricValue(t, scrape(), "gleaner_monitor_probe_latency_seconds_count") + n
		ctx, stop := context.WithCancel(r.ctx)
		done := make(chan struct{})
		go func() { r.m.probe.run(ctx, 5*time.Millisecond); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for metricValue(t, scrape(), "gleaner_monitor_probe_latency_seconds_count") < want {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %v probe readings after 10 s", want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		stop()
		<-done
	}

	probeFor(3)
	r.tick()
	body := scrape()
	if got := metricValue(t, body, "gleaner_monitor_latency_slo_seconds"); got != 0.05 {
		t.Errorf("latency_slo_seconds %v, want 0.05", got)
	}
	if got := metricValue(t, body, "gleaner_monitor_probe_worst_latency_seconds"); got <= 0 || got >= 0.05 {
		t.Errorf("fast service: worst probe latency %v s, want above 0 and under the 50 ms SLO", got)
	}
	if got := metricValue(t, body, "gleaner_monitor_slo_violations_total"); got != 0 {
		t.Errorf("fast service: %v SLO violations, want 0", got)
	}

	slow.Store(true)
	probeFor(2)
	r.tick()
	body = scrape()
	if got := metricValue(t, body, "gleaner_monitor_probe_worst_latency_seconds"); got < 0.1 {
		t.Errorf("100 ms service: worst probe latency %v s, want at least 0.1", got)
	}
	if got := metricValue(t, body, "gleaner_monitor_slo_violations_total"); got != 1 {
		t.Errorf("100 ms service: %v SLO violations, want 1", got)
	}
	count := metricValue(t, body, "gleaner_monitor_probe_latency_seconds_count")
	if under := metricValue(t, body, `gleaner_monitor_probe_latency_seconds_bucket{hostname="h1",role="batch",le="0.064"}`); count-under < 2 {
		t.Errorf("histogram: %v of %v readings above 64 ms, want the 2 slow ones at least", count-under, count)
	}
	if !r.m.Status().Throttled {
		t.Error("an SLO violation did not throttle batch")
	}
}

// metricValue is the value of the first scrape line whose series starts
// with name (a bare name matches it with any labels).
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "#") || !strings.HasPrefix(l, name) {
			continue
		}
		rest := l[len(name):]
		if !strings.HasPrefix(rest, "{") && !strings.HasPrefix(rest, " ") && !strings.Contains(name, "{") {
			continue // a longer name
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		return v
	}
	t.Fatalf("no %s in the scrape:\n%s", name, body)
	return 0
}
