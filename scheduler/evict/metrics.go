package evict

import "github.com/prometheus/client_golang/prometheus"

var (
	evictionsTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_evictions_handled_total", Help: "Eviction requests from monitors carried out."})
	victimsTotal   = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_eviction_victims_total", Help: "Instances chosen to be killed and requeued for eviction requests."})
)

func init() { prometheus.MustRegister(evictionsTotal, victimsTotal) }
