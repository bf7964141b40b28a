package monitor

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// latencyProbe times one GET of the business service's probe URL every
// period and keeps the worst latency since the last take: the business
// latency signal of the policy's latency feedback (policy.Params
// LatencySLOMs). A failed or non-2xx request counts as the timeout.
type latencyProbe struct {
	url     string
	client  *http.Client
	timeout time.Duration
	worst   atomic.Int64 // ns, 0: no reading since the last take
	// observe, when set, is given every reading in seconds (the
	// monitor's latency histogram).
	observe func(seconds float64)
}

func newLatencyProbe(url string, timeout time.Duration) *latencyProbe {
	return &latencyProbe{url: url, timeout: timeout, client: &http.Client{
		Timeout: timeout,
		// One kept-alive connection: the probe measures the service, not
		// connection set-up.
		Transport: &http.Transport{MaxIdleConns: 1, MaxIdleConnsPerHost: 1, DisableCompression: true},
	}}
}

// run probes every period until ctx ends.
func (p *latencyProbe) run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d := p.once(ctx)
			if ctx.Err() != nil {
				return // cut short by the stop, not the service
			}
			p.record(d)
			if p.observe != nil {
				p.observe(d.Seconds())
			}
		}
	}
}

// once times one request.
func (p *latencyProbe) once(ctx context.Context) time.Duration {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return p.timeout
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return p.timeout
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return p.timeout
	}
	return time.Since(start)
}

// record keeps d if it is the worst since the last take.
func (p *latencyProbe) record(d time.Duration) {
	for {
		cur := p.worst.Load()
		if int64(d) <= cur || p.worst.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// takeMs returns the worst latency since the last take in ms (0: none)
// and starts a new interval.
func (p *latencyProbe) takeMs() float64 {
	return float64(p.worst.Swap(0)) / float64(time.Millisecond)
}
