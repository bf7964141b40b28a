package harvest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/apikeys"
)

// Handler serves GET /v1/harvest[?host=H][&since=RFC3339][&keys=snake]: the View.
// Serve it behind the API's authentication (api.Config.Mount).
func Handler(h *History, interval time.Duration) http.Handler {
	if interval <= 0 {
		interval = 15 * time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "only GET " + r.URL.Path, "field": "method"})
			return
		}
		q := r.URL.Query()
		var since time.Time
		if s := q.Get("since"); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "since " + s + " is not an RFC 3339 time", "field": "since"})
				return
			}
			since = t
		}
		host := q.Get("host")
		if len(host) > 253 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "host is longer than 253 bytes", "field": "host"})
			return
		}
		style, err := apikeys.RequestStyle(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error(), "field": "keys"})
			return
		}
		v := h.View(host, since)
		v.IntervalSeconds = interval.Seconds()
		body, err := apikeys.Render(style, v, nil)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		if style != apikeys.CamelCase {
			w.Header().Set("Warning", apikeys.Deprecation)
		}
		writeJSON(w, http.StatusOK, body)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
