package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Requests count under the route's pattern, never their raw path, and
// keep their status code; a stream handler still reaches the writer's
// controller (deadlines, flush) through the wrapper.
func TestInstrumentRoute(t *testing.T) {
	route := "GET /test-instrument/{id}"
	mux := http.NewServeMux()
	mux.Handle(route, InstrumentRoute(route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the wrapper: %v", err)
		}
		if r.PathValue("id") == "missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	})))
	for _, id := range []string{"a", "b", "c", "missing"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/test-instrument/"+id, nil))
	}
	if got := testutil.ToFloat64(APIRequests.WithLabelValues(route, "get", "200")); got != 3 {
		t.Fatalf("200s counted %v, want 3", got)
	}
	if got := testutil.ToFloat64(APIRequests.WithLabelValues(route, "get", "404")); got != 1 {
		t.Fatalf("404s counted %v, want 1", got)
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "route" && lp.GetValue() != route {
					t.Errorf("%s has route %q", mf.GetName(), lp.GetValue())
				}
			}
		}
	}
	if n := testutil.CollectAndCount(APIDuration, "gleaner_api_request_duration_seconds"); n != 1 {
		t.Fatalf("%d duration series, want 1 (one route, one method)", n)
	}
}
