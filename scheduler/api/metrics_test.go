package api

import (
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Every route counts under its pattern with the answer's code, refusals
// without a token included; raw paths never become label values.
func TestRequestMetricsByRoute(t *testing.T) {
	_, srv := setup(t)
	count := func(route, method, code string) float64 {
		return testutil.ToFloat64(metrics.APIRequests.WithLabelValues(route, method, code))
	}
	get200, get404 := count("GET /v1/jobs/{id}", "get", "200"), count("GET /v1/jobs/{id}", "get", "404")
	unauth := count("GET /v1/jobs", "get", "401")
	health := count("GET /healthz", "get", "200")
	if resp, _ := do(t, "POST", srv.URL+"/v1/jobs", specDoc, adminToken); resp.StatusCode != 201 {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	for _, id := range []string{"etl-1", "nope-1", "nope-2"} {
		do(t, "GET", srv.URL+"/v1/jobs/"+id, "", readerToken)
	}
	do(t, "GET", srv.URL+"/v1/jobs", "", "")
	do(t, "GET", srv.URL+"/healthz", "", "")
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"GET /v1/jobs/{id} 200", count("GET /v1/jobs/{id}", "get", "200") - get200, 1},
		{"GET /v1/jobs/{id} 404", count("GET /v1/jobs/{id}", "get", "404") - get404, 2},
		{"GET /v1/jobs 401", count("GET /v1/jobs", "get", "401") - unauth, 1},
		{"GET /healthz 200", count("GET /healthz", "get", "200") - health, 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: counted %v, want %v", c.name, c.got, c.want)
		}
	}
	// No series was made for a raw path.
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "route" && strings.Contains(lp.GetValue(), "nope") {
					t.Errorf("%s has a raw path as its route: %q", mf.GetName(), lp.GetValue())
				}
			}
		}
	}
}
