package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
)

func TestResolveToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	def := filepath.Join(dir, "default")
	os.WriteFile(def, []byte("from-default\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for _, tc := range []struct {
		name, flag, file, env, def, want string
		err                              bool
	}{
		{"flag first", "from-flag", file, "from-env", def, "from-flag", false},
		{"then the file flag", "", file, "from-env", def, "from-file", false},
		{"then the environment", "", "", "from-env", def, "from-env", false},
		{"then the default file", "", "", "", def, "from-default", false},
		{"no default file: none", "", "", "", filepath.Join(dir, "absent"), "", false},
		{"a missing --token-file is an error", "", filepath.Join(dir, "absent"), "", def, "", true},
		{"an empty --token-file is an error", "", empty, "", def, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveToken(tc.flag, tc.file, tc.env, tc.def)
			if got != tc.want || (err != nil) != tc.err {
				t.Fatalf("resolveToken = %q, %v; want %q, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// Issue 17: a submit while no leader is elected waits for one (within
// --timeout) instead of failing at once.
func TestCLIWaitsForALeader(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		if calls.Add(1) <= 3 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(503)
			w.Write([]byte(`{"error":"not the leader and no leader is elected","code":"` + api.CodeNoLeader + `"}`))
			return
		}
		w.WriteHeader(201)
		w.Write([]byte(`{"id":"x-1"}`))
	}))
	defer srv.Close()
	spec := filepath.Join(t.TempDir(), "j.yaml")
	os.WriteFile(spec, []byte("name: x\ntasks: [{name: a, command: 'true'}]"), 0o644)
	out, err := runJobCLI(t, "job", "submit", "--api", srv.URL, "--token", "tok", "-f", spec)
	if err != nil || strings.TrimSpace(out) != "x-1" || calls.Load() != 4 {
		t.Fatalf("submit: %v %q after %d calls", err, out, calls.Load())
	}
	// Bounded by --timeout: no leader ever, so it gives up with the API's error.
	calls.Store(-1 << 20)
	start := time.Now()
	_, err = runJobCLI(t, "job", "submit", "--api", srv.URL, "--token", "tok", "--timeout", "600ms", "-f", spec)
	if err == nil || !strings.Contains(err.Error(), "no leader is elected") || time.Since(start) > 5*time.Second {
		t.Fatalf("no leader: %v after %v", err, time.Since(start))
	}
}

// Issue 10 finding 8: the CLI hung on a silent endpoint.
func TestCLITimesOutOnASilentEndpoint(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := runJobCLI(t, "job", "list", "--api", srv.URL, "--token", "tok", "--timeout", "300ms")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("silent endpoint: %v after %v", err, time.Since(start))
	}
	_, err = runAgentCLI(t, nil, "agent", "list", "--api", srv.URL, "--token", "tok", "--timeout", "300ms")
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("agent list on a silent endpoint: %v after %v", err, time.Since(start))
	}
}

// A standby's redirect to the leader on another host keeps the token.
func TestRedirectKeepsTheToken(t *testing.T) {
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"no token"}`))
			return
		}
		w.Write([]byte(`[]`))
	}))
	defer leader.Close()
	// "localhost" and 127.0.0.1 are different hosts to the HTTP client.
	to := strings.Replace(leader.URL, "127.0.0.1", "localhost", 1)
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer standby.Close()
	if out, err := runJobCLI(t, "job", "list", "--api", standby.URL, "--token", "tok"); err != nil {
		t.Fatalf("list through a redirect: %v %q", err, out)
	}
}
