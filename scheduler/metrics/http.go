package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// API request metrics, labelled by route: the mux pattern a handler was
// registered with (e.g. "GET /v1/jobs/{id}"), never the raw path, so the
// number of series stays bounded whatever clients ask for.
var (
	APIRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gleaner_api_requests_total",
		Help: "API requests answered, by route (mux pattern), method and status code."}, []string{"route", "method", "code"})
	APIDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gleaner_api_request_duration_seconds",
		Help:    "Time to answer an API request (streams: until they end), by route (mux pattern) and method.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, []string{"route", "method"})
)

// InstrumentRoute counts and times the requests h answers under route.
func InstrumentRoute(route string, h http.Handler) http.Handler {
	l := prometheus.Labels{"route": route}
	return promhttp.InstrumentHandlerCounter(APIRequests.MustCurryWith(l),
		promhttp.InstrumentHandlerDuration(APIDuration.MustCurryWith(l), h))
}
