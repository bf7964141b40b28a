package colocation

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var v []time.Duration
	for i := 1; i <= 1000; i++ {
		v = append(v, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}, {1, time.Second}, {0, time.Millisecond}} {
		if got := Percentile(v, c.q); got != c.want {
			t.Errorf("Percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if Percentile(nil, 0.99) != 0 {
		t.Error("Percentile of nothing: want 0")
	}
}

func TestSummarizeAndCompare(t *testing.T) {
	tr := Trace{Duration: 3 * time.Second, Low: 10, Peak: 10}
	reqs := []Request{
		{At: 100 * time.Millisecond, Latency: 2 * time.Millisecond, OK: true},
		{At: 1100 * time.Millisecond, Latency: 4 * time.Millisecond, OK: true},
		{At: 2100 * time.Millisecond, OK: false},
	}
	samples := []Sample{
		{At: 0, BusinessCPUs: 0.5, BatchCPUs: 1, ReservedCPUs: 1},
		{At: time.Second, BusinessCPUs: 0.5, BatchCPUs: 1, ReservedCPUs: 1, Throttled: true, ThrottleCPUs: 0.5, Evictions: 1, ResChanges: 2},
		{At: 2 * time.Second, BusinessCPUs: 0.5, BatchCPUs: 1, ReservedCPUs: 0.5, Evictions: 1, ResChanges: 3},
	}
	r := Summarize("d", "test", 3*time.Second, tr, reqs, samples)
	if r.Requests != 3 || r.Errors != 1 || math.Abs(r.ErrorRate-1.0/3) > 1e-9 {
		t.Errorf("requests %d errors %d rate %v", r.Requests, r.Errors, r.ErrorRate)
	}
	if r.P50Ms != 2 || r.P99Ms != 4 {
		t.Errorf("p50 %v p99 %v, want 2 and 4", r.P50Ms, r.P99Ms)
	}
	if r.Throttles != 1 || r.Evictions != 1 || r.ReservationOps != 3 {
		t.Errorf("throttles %d evictions %d reservation ops %d, want 1 1 3", r.Throttles, r.Evictions, r.ReservationOps)
	}
	if r.BatchCPUSeconds != 3 || r.BusinessCPUSeconds != 1.5 {
		t.Errorf("batch %v business %v cpu-s, want 3 and 1.5", r.BatchCPUSeconds, r.BusinessCPUSeconds)
	}
	if len(r.Windows) != 3 || !r.Windows[1].Evicted || r.Windows[2].Errors != 1 || r.Windows[1].P99Ms != 4 {
		t.Errorf("windows %+v", r.Windows)
	}
	base := Result{Name: "a", Seconds: 3, BusinessCPUSeconds: 1.5, P50Ms: 1, P99Ms: 2, P999Ms: 4}
	rs := []Result{base, r}
	Compare(rs, base, 2)
	if rs[1].IdleCPUSeconds != 4.5 || math.Abs(rs[1].HarvestRatio-3/4.5) > 1e-9 || rs[1].P99Ratio != 2 || rs[0].P99Ratio != 0 {
		t.Errorf("compared: %+v", rs[1])
	}
	// The load generator's CPU in (a) is not idle capacity: 6 − 1.5 − 0.5.
	base.LoadGenCPUSeconds = 0.5
	Compare(rs, base, 2)
	if rs[1].IdleCPUSeconds != 4 || math.Abs(rs[1].HarvestRatio-3/4.0) > 1e-9 || math.Abs(rs[1].HarvestRatioInclLoadGen-3/4.5) > 1e-9 {
		t.Errorf("compared with the load generator's CPU: idle %v harvest %v (incl. load generator %v), want 4, 0.75, 0.67",
			rs[1].IdleCPUSeconds, rs[1].HarvestRatio, rs[1].HarvestRatioInclLoadGen)
	}
	base.LoadGenCPUSeconds = 0
	Compare(rs, base, 2)

	rep := Report{NumCPU: 2, Short: true, Goal: "g", Scenarios: rs}
	rep.SetTrace(tr)
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "SHORT") || !strings.Contains(buf.String(), "0.67") {
		t.Errorf("table (%v):\n%s", err, buf.String())
	}
	dir := t.TempDir()
	files, err := rep.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("files %v, want json, txt and two pictures", files)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	png, _ := os.ReadFile(filepath.Join(dir, "scenario-d.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Error("scenario-d.png is not a PNG")
	}
}

func TestMetricSums(t *testing.T) {
	m := MetricSums("# HELP x\nfoo 1\nbar{a=\"1\"} 2\nbar{a=\"}\"} 3\nbaz{a=\"x\"} 1.5e+00 123\n")
	if m["foo"] != 1 || m["bar"] != 5 || m["baz"] != 1.5 {
		t.Errorf("MetricSums = %v", m)
	}
}
