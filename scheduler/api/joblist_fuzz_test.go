package api

import (
	"net/url"
	"testing"
	"time"
)

// FuzzParseListQuery: any query string is either refused naming a field
// or gives bounded filters.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"", "state=failed&state=killed,running", "since=24h", "since=2026-12-01T00:00:00Z", "label=a=b", "limit=5", "x=y", "label=%00=1"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, e := parseListQuery(q, now)
		if e != nil {
			if e.Field == "" || e.Error == "" {
				t.Fatalf("%q: error without a field: %+v", raw, e)
			}
			return
		}
		if len(lq.labels) > maxListLabels || lq.limit < 0 || lq.limit > maxListLimit || len(lq.states) > len(knownStates) {
			t.Fatalf("%q: unbounded %+v", raw, lq)
		}
	})
}
