package queue

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func call(t *testing.T, srv *httptest.Server, method, path, tok string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestHTTP(t *testing.T) {
	q, ctx := newQueue(t, 0)
	if _, err := q.Add(ctx, "job-1", []string{"alpha", "beta"}); err != nil {
		t.Fatal(err)
	}
	w0 := mustRegister(t, ctx, q, "job-1", "job-1.w.0.0")
	w1 := mustRegister(t, ctx, q, "job-1", "job-1.w.1.0")
	stranger := mustRegister(t, ctx, q, "job-2", "job-2.w.0.0")

	// Mounted beside the job API's own routes, as api.Config.Mount does.
	mux := http.NewServeMux()
	for _, p := range []string{"GET /v1/jobs/{id}", "DELETE /v1/jobs/{id}", "GET /v1/jobs/{id}/watch", "GET /v1/jobs/{id}/tasks/{task}/instances/{index}"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	}
	h := Handler(q, nil)
	mux.Handle("/v1/jobs/{id}/queue", h)
	mux.Handle("/v1/jobs/{id}/queue/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	base := "/v1/jobs/job-1/queue"
	if code, _, _ := call(t, srv, "GET", base+"/next", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code, _, _ := call(t, srv, "GET", base+"/next", "nope"); code != http.StatusUnauthorized {
		t.Fatalf("bad token: %d", code)
	}
	if code, _, _ := call(t, srv, "GET", base+"/next", stranger); code != http.StatusForbidden {
		t.Fatalf("other job's token: %d", code)
	}
	code, _, body := call(t, srv, "GET", base+"/next", w0)
	var a Item
	if code != http.StatusOK || json.Unmarshal(body, &a) != nil || a.Data != "alpha" {
		t.Fatalf("next: %d %s", code, body)
	}
	code, _, body = call(t, srv, "GET", base+"/next", w1)
	var b Item
	if code != http.StatusOK || json.Unmarshal(body, &b) != nil || b.Data != "beta" {
		t.Fatalf("next: %d %s", code, body)
	}
	code, hdr, _ := call(t, srv, "GET", base+"/next", w1)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("busy: %d %v", code, hdr)
	}
	if code, _, body = call(t, srv, "POST", base+"/"+a.ID+"/done", w1); code != http.StatusConflict {
		t.Fatalf("done by non-holder: %d %s", code, body)
	}
	if code, _, _ = call(t, srv, "POST", base+"/heartbeat", w0); code != http.StatusNoContent {
		t.Fatalf("heartbeat: %d", code)
	}
	code, _, body = call(t, srv, "GET", base, w0)
	var s Stats
	if code != http.StatusOK || json.Unmarshal(body, &s) != nil || s != (Stats{Remaining: 2, Claimed: 2}) {
		t.Fatalf("stats: %d %s", code, body)
	}
	for _, c := range []struct {
		tok string
		id  string
	}{{w0, a.ID}, {w1, b.ID}} {
		if code, _, body = call(t, srv, "POST", base+"/"+c.id+"/done", c.tok); code != http.StatusNoContent {
			t.Fatalf("done %s: %d %s", c.id, code, body)
		}
	}
	if code, _, _ = call(t, srv, "GET", base+"/next", w0); code != http.StatusNoContent {
		t.Fatalf("empty: %d", code)
	}
	// The job API's routes still answer.
	if code, _, _ = call(t, srv, "GET", "/v1/jobs/job-1", ""); code != http.StatusTeapot {
		t.Fatalf("job route: %d", code)
	}
}
