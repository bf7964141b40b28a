package framework

import "github.com/prometheus/client_golang/prometheus"

var (
	eventsTotal       = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gleaner_mesos_events_total", Help: "Mesos scheduler events received, by type."}, []string{"type"})
	updatesTotal      = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gleaner_status_updates_total", Help: "Task status updates received, by state."}, []string{"state"})
	offersTotal       = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_offers_total", Help: "Offers received."})
	launchesTotal     = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_launches_total", Help: "Tasks sent in ACCEPT calls."})
	revivesTotal      = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_revives_total", Help: "REVIVE calls."})
	suppressesTotal   = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_suppresses_total", Help: "SUPPRESS calls."})
	staleUpdatesTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_stale_status_updates_total",
		Help: "Non-terminal status updates of tasks whose record says they ended (resent by agents after a failover); not killed."})
	recordsStored = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gleaner_attempt_records_stored_total",
		Help: "Attempt records written to the store, by path: launch (launching, before ACCEPT) or update (a status update's new state)."}, []string{"path"})
	recordsStoredAtLaunch = recordsStored.WithLabelValues("launch")
	recordsStoredByUpdate = recordsStored.WithLabelValues("update")
	backlogDeclinesTotal  = prometheus.NewCounter(prometheus.CounterOpts{Name: "gleaner_offers_declined_for_update_backlog_total",
		Help: "Offers declined unused because the status updates waiting for the update loop were at the bound (Config.MaxUpdateBacklog)."})
	pendingGauge  = prometheus.NewGauge(prometheus.GaugeOpts{Name: "gleaner_pending_instances", Help: "Runnable pending instances at the last offer cycle."})
	offerDecision = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gleaner_offer_cycle_seconds", Help: "From OFFERS received to ACCEPT/DECLINE sent.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
)

func init() {
	prometheus.MustRegister(eventsTotal, updatesTotal, offersTotal, launchesTotal, revivesTotal, suppressesTotal, pendingGauge, offerDecision, staleUpdatesTotal, recordsStored, backlogDeclinesTotal)
}
