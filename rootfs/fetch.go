package rootfs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// FetchTimeouts bound an http(s) bundle download; a zero field takes the
// value of DefaultFetchTimeouts, so no download can hang a task's launch.
type FetchTimeouts struct {
	// Connect bounds the TCP connection and the TLS handshake.
	Connect time.Duration
	// Header bounds the wait for the response headers once the request was sent.
	Header time.Duration
	// Stall ends a download that delivered no byte for this long.
	Stall time.Duration
	// Total bounds the whole download, headers and body.
	Total time.Duration
}

// DefaultFetchTimeouts are the bounds a zero FetchTimeouts field takes.
var DefaultFetchTimeouts = FetchTimeouts{
	Connect: 10 * time.Second,
	Header:  30 * time.Second,
	Stall:   30 * time.Second,
	Total:   30 * time.Minute, // 1 GiB (the compressed limit) at ~600 KB/s
}

// WithDefaults returns t with every zero (or negative) field set from
// DefaultFetchTimeouts.
func (t FetchTimeouts) WithDefaults() FetchTimeouts {
	d := DefaultFetchTimeouts
	if t.Connect <= 0 {
		t.Connect = d.Connect
	}
	if t.Header <= 0 {
		t.Header = d.Header
	}
	if t.Stall <= 0 {
		t.Stall = d.Stall
	}
	if t.Total <= 0 {
		t.Total = d.Total
	}
	return t
}

// The phases a FetchTimeoutError can name.
const (
	FetchConnect = "connect"
	FetchHeader  = "response headers"
	FetchStall   = "stall"
	FetchTotal   = "total"
)

// FetchTimeoutError says a bundle download ran out of one of its
// FetchTimeouts; nothing of it is kept.
type FetchTimeoutError struct {
	URI     string
	Phase   string // one of the Fetch* phases
	Timeout time.Duration
	Bytes   int64 // body bytes received before it
}

func (e *FetchTimeoutError) Error() string {
	switch e.Phase {
	case FetchStall:
		return fmt.Sprintf("fetch bundle %s: no data for %v after %d bytes (stalled)", e.URI, e.Timeout, e.Bytes)
	case FetchTotal:
		return fmt.Sprintf("fetch bundle %s: not done within %v (%d bytes received)", e.URI, e.Timeout, e.Bytes)
	}
	return fmt.Sprintf("fetch bundle %s: %s timed out after %v", e.URI, e.Phase, e.Timeout)
}

// errStalled and errTotal are the causes that cancel a download.
var (
	errStalled = errors.New("download stalled")
	errTotal   = errors.New("download took too long")
)

// fetchHTTP downloads uri within the timeouts and passes the body to put;
// a timeout anywhere becomes a *FetchTimeoutError naming the phase.
func fetchHTTP(ctx context.Context, uri string, to FetchTimeouts, maxBytes int64, put func(io.Reader) (string, error)) (string, error) {
	to = to.WithDefaults()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	total := time.AfterFunc(to.Total, func() { cancel(errTotal) })
	defer total.Stop()
	var connected atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return "", fmt.Errorf("bundle uri %q: %w", uri, err)
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: to.Connect}).DialContext,
		TLSHandshakeTimeout:   to.Connect,
		ResponseHeaderTimeout: to.Header,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		DisableKeepAlives:     true,
	}
	defer tr.CloseIdleConnections()
	body := &stallReader{cancel: cancel, stall: to.Stall}
	timeout := func(err error) error {
		var ne net.Error
		switch {
		case errors.Is(context.Cause(ctx), errStalled):
			return &FetchTimeoutError{URI: uri, Phase: FetchStall, Timeout: to.Stall, Bytes: body.n.Load()}
		case errors.Is(context.Cause(ctx), errTotal):
			return &FetchTimeoutError{URI: uri, Phase: FetchTotal, Timeout: to.Total, Bytes: body.n.Load()}
		case errors.As(err, &ne) && ne.Timeout() && !connected.Load():
			return &FetchTimeoutError{URI: uri, Phase: FetchConnect, Timeout: to.Connect}
		case errors.As(err, &ne) && ne.Timeout():
			return &FetchTimeoutError{URI: uri, Phase: FetchHeader, Timeout: to.Header}
		}
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		if te := timeout(err); te != err {
			return "", te
		}
		return "", fmt.Errorf("fetch bundle %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetch bundle %s: %s", uri, resp.Status)
	}
	if resp.ContentLength > maxBytes {
		return "", &LimitError{Limit: LimitCompressedBytes, Max: maxBytes}
	}
	body.r = resp.Body
	body.arm()
	defer body.stop()
	dir, err := put(body)
	if err != nil {
		if te := timeout(err); te != err {
			return "", te
		}
		return "", err
	}
	return dir, nil
}

// stallReader cancels the download when no byte arrived for stall.
type stallReader struct {
	r      io.Reader
	cancel context.CancelCauseFunc
	stall  time.Duration
	timer  *time.Timer
	n      atomic.Int64
}

func (s *stallReader) arm() { s.timer = time.AfterFunc(s.stall, func() { s.cancel(errStalled) }) }

func (s *stallReader) stop() { s.timer.Stop() }

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.n.Add(int64(n))
		s.timer.Reset(s.stall)
	}
	return n, err
}
