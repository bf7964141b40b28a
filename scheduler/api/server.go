package api

import (
	"net/http"
	"time"
)

// Timeouts bound the API server's connections. Zero fields take the
// defaults below.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers (default 10 s).
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included (default 60 s).
	Read time.Duration
	// Write bounds writing a response (default 60 s); streams extend it
	// by this much before each write.
	Write time.Duration
	// Idle bounds a keep-alive connection between requests (default 120 s).
	Idle time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.ReadHeader <= 0 {
		t.ReadHeader = 10 * time.Second
	}
	if t.Read <= 0 {
		t.Read = 60 * time.Second
	}
	if t.Write <= 0 {
		t.Write = 60 * time.Second
	}
	if t.Idle <= 0 {
		t.Idle = 120 * time.Second
	}
	return t
}

// NewServer returns an http.Server serving Handler(b, cfg) with
// cfg.Timeouts (or their defaults) on every connection.
func NewServer(b Backend, cfg Config) *http.Server {
	t := cfg.Timeouts.withDefaults()
	cfg.Timeouts = t
	return &http.Server{Handler: Handler(b, cfg), ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read,
		WriteTimeout: t.Write, IdleTimeout: t.Idle}
}

// stream wraps a handler that streams a response for as long as its
// subject lives (a watch, a followed log): the read deadline, useless
// once a bodyless request is read, is lifted (when it passes, the server
// cancels the request's context), and every write or flush first moves
// the write deadline Timeouts.Write ahead.
func (s *server) stream(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		h(&extendingWriter{ResponseWriter: w, rc: rc, d: s.cfg.Timeouts.Write}, r)
	})
}

// extendingWriter moves the connection's write deadline before each write.
type extendingWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *extendingWriter) extend() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.d)) }

func (w *extendingWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *extendingWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher, which the streaming handlers look for.
func (w *extendingWriter) Flush() {
	w.extend()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *extendingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
