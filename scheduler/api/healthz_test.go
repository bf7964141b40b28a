package api

import (
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/store"
)

// monitorBackend is a backend that also reports --require-monitor.
type monitorBackend struct {
	fakeBackend
	required bool
	silent   []string
}

func (m *monitorBackend) RequireMonitor() bool              { return m.required }
func (m *monitorBackend) SilentMonitors(time.Time) []string { return m.silent }

// /healthz names the hosts --require-monitor keeps from getting work, and
// still answers 200: the scheduler itself is healthy (issue 13).
func TestHealthzNamesHostsWithSilentMonitors(t *testing.T) {
	b := &monitorBackend{fakeBackend: fakeBackend{st: store.NewMemory(), leader: true}, required: true, silent: []string{"host-a"}}
	srv := httptest.NewServer(Handler(b, Config{Auth: testGuard()}))
	t.Cleanup(srv.Close)
	resp, m := do(t, "GET", srv.URL+"/healthz", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200 with silent monitors", resp.StatusCode)
	}
	want := map[string]any{"required": true, "silent": []any{"host-a"}}
	if !reflect.DeepEqual(m["monitors"], want) {
		t.Fatalf("monitors = %#v, want %#v", m["monitors"], want)
	}
	b.silent = []string{}
	if _, m := do(t, "GET", srv.URL+"/healthz", "", ""); !reflect.DeepEqual(m["monitors"], map[string]any{"required": true, "silent": []any{}}) {
		t.Fatalf("no silent host: monitors = %#v", m["monitors"])
	}
	// A backend that cannot tell says nothing rather than a guess.
	_, plain := setup(t)
	if _, m := do(t, "GET", plain.URL+"/healthz", "", ""); m["monitors"] != nil {
		t.Fatalf("plain backend: monitors = %#v, want absent", m["monitors"])
	}
}
