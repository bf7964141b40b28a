package monitor

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gleaner-project/gleaner/monitor/policy"
)

const mib = 1 << 20

// metrics are per monitor (own registry), so several monitors can run in
// one process (`gleaner dev`).
type metrics struct {
	reg *prometheus.Registry

	// gauges by kind (capacity, business, batch, allowance, target,
	// reserved): [0] cpus, [1] memory bytes.
	gauges             map[string][2]prometheus.Gauge
	throttled          prometheus.Gauge
	throttleCPUs       prometheus.Gauge
	evictionsRequested prometheus.Counter
	evictionPending    prometheus.Gauge
	errors             *prometheus.CounterVec
	reservationOps     *prometheus.CounterVec
	samples            prometheus.Counter
	sampleDuration     prometheus.Histogram
	lastSample         prometheus.Gauge
	batchDisk          prometheus.Gauge

	// The latency probe's (registered with one, by withProbe).
	probeLatency  prometheus.Histogram
	probeWorst    prometheus.Gauge
	latencySLO    prometheus.Gauge
	sloViolations prometheus.Counter
}

func newMetrics(hostname, role string) *metrics {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"hostname": hostname, "role": role}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "gleaner", Subsystem: "monitor", Name: name, Help: help, ConstLabels: labels})
	}
	m := &metrics{reg: reg, gauges: map[string][2]prometheus.Gauge{}}
	gauges := map[string]string{
		"capacity":  "host capacity",
		"business":  "in use by business (non-batch) work",
		"batch":     "in use by batch work (task cgroups and executors)",
		"allowance": "what batch may use now (peak-held business, clamped)",
		"target":    "reservation the monitor aims for (allowance after hysteresis)",
		"reserved":  "dynamic reservation for the role held on the master",
	}
	mkCPU := func(kind string) prometheus.Gauge {
		return g(kind+"_cpus", "CPUs "+gauges[kind]+".")
	}
	mkMem := func(kind string) prometheus.Gauge {
		return g(kind+"_memory_bytes", "Memory in bytes "+gauges[kind]+".")
	}
	for _, kind := range []string{"capacity", "business", "batch", "allowance", "target", "reserved"} {
		cg, mg := mkCPU(kind), mkMem(kind)
		reg.MustRegister(cg, mg)
		m.gauges[kind] = [2]prometheus.Gauge{cg, mg}
	}
	m.throttled = g("throttled", "1 when the batch cgroups are CPU-throttled.")
	m.throttleCPUs = g("throttle_cpus", "CPU cap of the batch cgroups while throttled (0 when not).")
	m.evictionPending = g("eviction_pending", "1 while an eviction request waits for the scheduler.")
	m.lastSample = g("last_sample_timestamp_seconds", "Unix time of the last successful sample.")
	m.batchDisk = g("batch_disk_bytes", "Disk in bytes batch work holds outside task sandboxes (the bundle cache).")
	m.evictionsRequested = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "evictions_requested_total", Help: "Eviction requests written to etcd.", ConstLabels: labels})
	m.samples = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "samples_total", Help: "Samples taken.", ConstLabels: labels})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "errors_total", Help: "Errors by stage (sample, master, reserve, throttle, etcd).", ConstLabels: labels}, []string{"stage"})
	m.reservationOps = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "reservation_operations_total", Help: "RESERVE/UNRESERVE calls the master accepted, by kind and resource.", ConstLabels: labels}, []string{"kind", "resource"})
	m.sampleDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "sample_duration_seconds", Help: "Time to take one sample and act on it.", ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	// The process's own figures (process_resident_memory_bytes, go_*), so
	// the monitor's memory goal can be checked in production. Several
	// monitors in one process (gleaner dev) each show the same process.
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	reg.MustRegister(m.throttled, m.throttleCPUs, m.evictionPending, m.lastSample, m.batchDisk, m.evictionsRequested, m.samples, m.errors, m.reservationOps, m.sampleDuration)
	for _, s := range []string{"sample", "master", "reserve", "throttle", "etcd"} {
		m.errors.WithLabelValues(s)
	}
	return m
}

// withProbe registers the latency probe's metrics: every reading in a
// histogram (its p99 over a window is histogram_quantile(0.99,
// rate(gleaner_monitor_probe_latency_seconds_bucket[5m]))), the worst
// reading of the latest sample, the objective, and the samples whose worst
// reading broke it.
func (m *metrics) withProbe(hostname, role string, sloMs float64) {
	labels := prometheus.Labels{"hostname": hostname, "role": role}
	m.probeLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "probe_latency_seconds",
		Help: "Latency of each business probe request (--slo-probe-url); a failed or non-2xx request counts as the probe's timeout.", ConstLabels: labels,
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.probeWorst = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "probe_worst_latency_seconds",
		Help: "Worst business probe latency of the latest sample interval, as the policy saw it (0: no reading).", ConstLabels: labels})
	m.latencySLO = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "latency_slo_seconds",
		Help: "Business latency objective (--latency-slo).", ConstLabels: labels})
	m.sloViolations = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "gleaner", Subsystem: "monitor", Name: "slo_violations_total",
		Help: "Samples whose worst business probe latency was above the objective (each halves the batch CPU cap).", ConstLabels: labels})
	m.latencySLO.Set(sloMs / 1000)
	m.reg.MustRegister(m.probeLatency, m.probeWorst, m.latencySLO, m.sloViolations)
}

func (m *metrics) set(kind string, r policy.Resources) {
	g := m.gauges[kind]
	g[0].Set(r.CPUs)
	g[1].Set(r.MemMB * mib)
}

func (m *metrics) observe(st Status) {
	m.set("capacity", st.Capacity)
	m.set("business", st.Business)
	m.set("batch", st.Batch)
	m.set("allowance", st.Allowance)
	m.set("target", st.Target)
	m.set("reserved", st.Reserved)
	m.throttled.Set(b2f(st.Throttled))
	m.throttleCPUs.Set(st.ThrottleCPUs)
	m.evictionPending.Set(b2f(st.EvictionPending))
	m.lastSample.Set(float64(st.Time.UnixNano()) / 1e9)
	m.batchDisk.Set(st.BatchDiskMB * mib)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
