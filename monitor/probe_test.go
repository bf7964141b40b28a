package monitor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The probe keeps the worst reading since the last take, counts a failing
// or unreachable service as the timeout, and a take starts afresh.
func TestLatencyProbe(t *testing.T) {
	delay := make(chan time.Duration, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case d := <-delay:
			time.Sleep(d) // the service's own latency, which the probe must see
		default:
		}
		if r.URL.Path == "/fail" {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	timeout := 2 * time.Second

	p := newLatencyProbe(srv.URL+"/", timeout)
	if got := p.takeMs(); got != 0 {
		t.Fatalf("no reading yet: %v ms, want 0", got)
	}
	p.record(p.once(ctx))
	delay <- 30 * time.Millisecond
	p.record(p.once(ctx))
	p.record(p.once(ctx))
	if got := p.takeMs(); got < 30 || got >= float64(timeout/time.Millisecond) {
		t.Errorf("worst of a fast, a 30 ms and a fast reading: %v ms, want at least 30 and below the timeout", got)
	}
	if got := p.takeMs(); got != 0 {
		t.Errorf("after a take: %v ms, want 0 (no reading)", got)
	}

	bad := newLatencyProbe(srv.URL+"/fail", timeout)
	bad.record(bad.once(ctx))
	if got := bad.takeMs(); got != float64(timeout/time.Millisecond) {
		t.Errorf("a 503: %v ms, want the timeout %v", got, timeout)
	}
	gone := newLatencyProbe("http://127.0.0.1:1/", timeout)
	gone.record(gone.once(ctx))
	if got := gone.takeMs(); got != float64(timeout/time.Millisecond) {
		t.Errorf("unreachable: %v ms, want the timeout %v", got, timeout)
	}
}
