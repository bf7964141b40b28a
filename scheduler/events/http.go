package events

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// streamBatch bounds the events written per wake-up of a stream.
const streamBatch = 500

// Handler serves GET /v1/events (mount it through api.Config.Mount at
// "/v1/events": authenticated, the read-only role suffices) as
// application/x-ndjson, one Event per line, until the client leaves:
//
//	?since=SEQ   events after SEQ still in the Log (0: all it keeps);
//	             without it, only events from now on
//	?job=ID      only this job's events
//	?type=P      only types matching P (job.*, task.failed; repeatable)
//
// A reader that falls behind the Log gets an events.missed line counting
// what it lost. writeTimeout is moved ahead before each write (the API
// server's write timeout would end the stream otherwise).
func Handler(l *Log, writeTimeout time.Duration) http.Handler {
	if writeTimeout <= 0 {
		writeTimeout = time.Minute
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		after := l.Last()
		if s := q.Get("since"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("since %q is not an event seq (a number ≥ 0)", s), "field": "since"})
				return
			}
			after = n
		}
		filter := Webhook{Events: q["type"]}
		for _, p := range filter.Events {
			if !patternRE.MatchString(p) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("type %q is not an event type or pattern (job.*, task.failed, *)", p), "field": "type"})
				return
			}
		}
		jobID := q.Get("job")
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Cache-Control", "no-cache")
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		enc := json.NewEncoder(w)
		for {
			evs, missed, changed := l.Since(after, streamBatch)
			wrote := false
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if missed > 0 {
				if enc.Encode(Event{Type: TypeMissed, Missed: missed, Time: time.Now().UTC()}) != nil {
					return
				}
				wrote = true
			}
			for _, e := range evs {
				after = e.Seq
				if (jobID != "" && e.Job != jobID) || !filter.Wants(e.Type) {
					continue
				}
				if enc.Encode(e) != nil {
					return
				}
				wrote = true
			}
			if wrote && rc.Flush() != nil {
				return
			}
			if len(evs) == streamBatch || missed > 0 {
				continue
			}
			select {
			case <-r.Context().Done():
				return
			case <-changed:
			}
		}
	})
	return mux
}
