package colocation

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Request is one business request as the load generator saw it.
type Request struct {
	At      time.Duration // sent, since the scenario's start
	Latency time.Duration
	OK      bool
}

// Sample is one harness reading (every second) of the host and monitor.
type Sample struct {
	At           time.Duration
	BusinessCPUs float64 // the business cgroup's CPU over the last second
	BatchCPUs    float64 // the batch parent cgroup's
	ReservedCPUs float64 // the monitor's view of the reservation (-1: none)
	Throttled    bool
	ThrottleCPUs float64
	Evictions    float64 // requested so far (monitor counter)
	ResChanges   float64 // reservation operations so far (monitor counter)
}

// Window is one second of a scenario, for the picture.
type Window struct {
	T            float64 `json:"t"`
	OfferedRPS   float64 `json:"offered_rps"`
	P99Ms        float64 `json:"p99_ms"`
	Errors       int     `json:"errors"`
	BusinessCPUs float64 `json:"business_cpus"`
	BatchCPUs    float64 `json:"batch_cpus"`
	ReservedCPUs float64 `json:"reserved_cpus"`
	ThrottleCPUs float64 `json:"throttle_cpus"`
	Throttled    bool    `json:"throttled"`
	Evicted      bool    `json:"evicted"`
}

// Result is one scenario's figures.
type Result struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	ErrorRate   float64 `json:"error_rate"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	P999Ms      float64 `json:"p999_ms"`
	// Ratios to scenario (a), 0 for (a) itself or when (a) did not run.
	P50Ratio  float64 `json:"p50_ratio,omitempty"`
	P99Ratio  float64 `json:"p99_ratio,omitempty"`
	P999Ratio float64 `json:"p999_ratio,omitempty"`
	// CPU-seconds over the scenario.
	BusinessCPUSeconds float64 `json:"business_cpu_seconds"`
	BatchCPUSeconds    float64 `json:"batch_cpu_seconds"`
	// LoadGenCPUSeconds is the harness's own CPU over the scenario (the
	// vegeta load generator and the sampling, in the test process): on a
	// real deployment the clients run elsewhere, here they take host CPU
	// that no batch could have harvested.
	LoadGenCPUSeconds float64 `json:"loadgen_cpu_seconds"`
	// StackCPUSeconds is the CPU of Gleaner's own processes over the trace:
	// mesos-local (master and agent), the scheduler, the monitor and the
	// executors (their tasks are batch CPU); etcd is left out (it runs in
	// every scenario).
	StackCPUSeconds float64 `json:"stack_cpu_seconds"`
	// IdleCPUSeconds is what business alone (scenario a) and the load
	// generator left idle on the same trace; HarvestRatio =
	// BatchCPUSeconds / IdleCPUSeconds. HarvestRatioInclLoadGen counts the
	// load generator's CPU as idle too (the definition before it was
	// measured; lower).
	IdleCPUSeconds          float64 `json:"idle_cpu_seconds"`
	HarvestRatio            float64 `json:"harvest_ratio"`
	HarvestRatioInclLoadGen float64 `json:"harvest_ratio_incl_loadgen"`
	// Batch instances that ran, and whether the memory-hungry one did.
	BatchStarted    int  `json:"batch_instances_started"`
	MemoryTaskRan   bool `json:"memory_task_ran"`
	Throttles       int  `json:"throttles"`
	Evictions       int  `json:"evictions"`
	ReservationOps  int  `json:"reservation_changes"`
	BusinessOOMKill int  `json:"business_oom_kills"`
	BusinessSwapMB  int  `json:"business_swap_mb"`

	Windows []Window `json:"windows"`
}

// Report is the whole run.
type Report struct {
	Time            time.Time `json:"time"`
	Short           bool      `json:"short"`
	NumCPU          int       `json:"num_cpu"`
	CPUPerRequestMs float64   `json:"cpu_per_request_ms"`
	CapacityRPS     float64   `json:"capacity_rps"`
	Trace           struct {
		Seconds     float64 `json:"seconds"`
		LowRPS      float64 `json:"low_rps"`
		PeakRPS     float64 `json:"peak_rps"`
		SpikeRPS    float64 `json:"spike_rps"`
		SpikeAtS    float64 `json:"spike_at_s"`
		SpikeLength float64 `json:"spike_length_s"`
	} `json:"trace"`
	Goal      string   `json:"goal"`
	Scenarios []Result `json:"scenarios"`
}

// SetTrace records the trace in the report.
func (r *Report) SetTrace(t Trace) {
	r.Trace.Seconds, r.Trace.LowRPS, r.Trace.PeakRPS, r.Trace.SpikeRPS = t.Duration.Seconds(), t.Low, t.Peak, t.Spike
	r.Trace.SpikeAtS, r.Trace.SpikeLength = t.SpikeAt.Seconds(), t.SpikeLength.Seconds()
}

// Percentile is the q-quantile (0..1) of sorted values by the nearest-rank
// method (0 for none).
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Summarize fills a Result from the requests and samples of one scenario:
// latency percentiles over every answered request (failed ones count as
// errors, not latencies), per-second windows, CPU-seconds, and the counts
// of throttles (unthrottled → throttled), evictions and reservation
// changes seen in the monitor's counters.
func Summarize(name, desc string, length time.Duration, trace Trace, reqs []Request, samples []Sample) Result {
	r := Result{Name: name, Description: desc, Seconds: length.Seconds(), Requests: len(reqs)}
	n := int(math.Ceil(length.Seconds()))
	r.Windows = make([]Window, n)
	per := make([][]time.Duration, n)
	var all []time.Duration
	for _, q := range reqs {
		w := min(max(int(q.At/time.Second), 0), n-1)
		if !q.OK {
			r.Errors++
			if n > 0 {
				r.Windows[w].Errors++
			}
			continue
		}
		all = append(all, q.Latency)
		if n > 0 {
			per[w] = append(per[w], q.Latency)
		}
	}
	if r.Requests > 0 {
		r.ErrorRate = float64(r.Errors) / float64(r.Requests)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r.P50Ms, r.P99Ms, r.P999Ms = ms(Percentile(all, 0.50)), ms(Percentile(all, 0.99)), ms(Percentile(all, 0.999))
	for i := range r.Windows {
		sort.Slice(per[i], func(a, b int) bool { return per[i][a] < per[i][b] })
		r.Windows[i].T = float64(i)
		r.Windows[i].OfferedRPS = trace.Rate(time.Duration(i)*time.Second + time.Second/2)
		r.Windows[i].P99Ms = ms(Percentile(per[i], 0.99))
		r.Windows[i].ReservedCPUs = -1
	}
	var prev *Sample
	for k := range samples {
		s := &samples[k]
		w := int(s.At / time.Second)
		if w >= 0 && w < n {
			win := &r.Windows[w]
			win.BusinessCPUs, win.BatchCPUs, win.ReservedCPUs = s.BusinessCPUs, s.BatchCPUs, s.ReservedCPUs
			win.Throttled, win.ThrottleCPUs = s.Throttled, s.ThrottleCPUs
		}
		dt := 1.0
		if prev != nil {
			dt = (s.At - prev.At).Seconds()
			if s.Throttled && !prev.Throttled {
				r.Throttles++
			}
			if s.Evictions > prev.Evictions {
				r.Evictions += int(s.Evictions - prev.Evictions)
				if w >= 0 && w < n {
					r.Windows[w].Evicted = true
				}
			}
			if s.ResChanges > prev.ResChanges {
				r.ReservationOps += int(s.ResChanges - prev.ResChanges)
			}
		} else if s.Throttled {
			r.Throttles++
		}
		r.BusinessCPUSeconds += s.BusinessCPUs * dt
		r.BatchCPUSeconds += s.BatchCPUs * dt
		prev = s
	}
	return r
}

// Compare fills the ratios to the baseline and the harvest ratio: the idle
// CPU-seconds are those business alone and the load generator left on the
// host (numCPU × length − baseline business and load-generator
// CPU-seconds).
func Compare(results []Result, baseline Result, numCPU int) {
	all := math.Max(float64(numCPU)*baseline.Seconds-baseline.BusinessCPUSeconds, 0)
	idle := math.Max(all-baseline.LoadGenCPUSeconds, 0)
	for i := range results {
		r := &results[i]
		r.IdleCPUSeconds = idle
		if idle > 0 {
			r.HarvestRatio = r.BatchCPUSeconds / idle
		}
		if all > 0 {
			r.HarvestRatioInclLoadGen = r.BatchCPUSeconds / all
		}
		if r.Name == baseline.Name {
			continue
		}
		r.P50Ratio, r.P99Ratio, r.P999Ratio = ratio(r.P50Ms, baseline.P50Ms), ratio(r.P99Ms, baseline.P99Ms), ratio(r.P999Ms, baseline.P999Ms)
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// WriteTable prints the report as a table.
func (r *Report) WriteTable(w io.Writer) error {
	mode := "full"
	if r.Short {
		mode = "SHORT (harness check; figures are not the benchmark's)"
	}
	fmt.Fprintf(w, "colocation: %s run, %d cpus, %.2f ms CPU per request, capacity %.0f req/s; trace %.0f s: %.0f → %.0f → %.0f req/s, spike %.0f req/s for %.0f s at %.0f s\n",
		mode, r.NumCPU, r.CPUPerRequestMs, r.CapacityRPS, r.Trace.Seconds, r.Trace.LowRPS, r.Trace.PeakRPS, r.Trace.LowRPS, r.Trace.SpikeRPS, r.Trace.SpikeLength, r.Trace.SpikeAtS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trequests\terrors\tp50 ms\tp99 ms\tp99.9 ms\tp50 ×a\tp99 ×a\tp99.9 ×a\tloadgen cpu-s\tstack cpu-s\tbatch cpu-s\tidle cpu-s\tharvest\tthrottles\tevictions\tres. changes\tbus. OOM\tbus. swap MB\t")
	for _, s := range r.Scenarios {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%d\t%d\t%d\t%d\t%d\t\n",
			s.Name, s.Requests, s.Errors, s.P50Ms, s.P99Ms, s.P999Ms, fmtRatio(s.P50Ratio), fmtRatio(s.P99Ratio), fmtRatio(s.P999Ratio),
			s.LoadGenCPUSeconds, s.StackCPUSeconds, s.BatchCPUSeconds, s.IdleCPUSeconds, s.HarvestRatio, s.Throttles, s.Evictions, s.ReservationOps, s.BusinessOOMKill, s.BusinessSwapMB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "  %s: %s\n", s.Name, s.Description)
	}
	_, err := fmt.Fprintf(w, "goal: %s\n", r.Goal)
	return err
}

func fmtRatio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

// Write writes report.json, report.txt and one picture per scenario into dir.
func (r *Report) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "report.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return nil, err
	}
	files = append(files, p)
	var sb strings.Builder
	if err := r.WriteTable(&sb); err != nil {
		return nil, err
	}
	p = filepath.Join(dir, "report.txt")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		return nil, err
	}
	files = append(files, p)
	for _, s := range r.Scenarios {
		p := filepath.Join(dir, "scenario-"+safeName(s.Name)+".png")
		if err := Plot(s, r.Scenarios[0], p); err != nil {
			return files, fmt.Errorf("plot %s: %w", s.Name, err)
		}
		files = append(files, p)
	}
	return files, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}
