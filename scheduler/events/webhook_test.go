package events

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef-test-secret")

// receiver is a webhook endpoint on 127.0.0.1 that checks every
// delivery's signature and answers failFirst failures per event first.
type receiver struct {
	t         *testing.T
	failFirst int
	mu        sync.Mutex
	tries     map[string]int
	got       []Event
	bad       []string
	srv       *httptest.Server
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	rc := &receiver{t: t, failFirst: failFirst, tries: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := Verify(testSecret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), DefaultTolerance); err != nil {
			rc.bad = append(rc.bad, err.Error())
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var e Event
		if err := json.Unmarshal(body, &e); err != nil || r.Header.Get(HeaderDelivery) != e.ID || r.Header.Get(HeaderEvent) != e.Type {
			rc.bad = append(rc.bad, "headers do not match the body")
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.tries[e.ID]++
		if rc.tries[e.ID] <= rc.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rc.got = append(rc.got, e)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() ([]Event, []string, map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	tries := map[string]int{}
	for k, v := range rc.tries {
		tries[k] = v
	}
	return append([]Event(nil), rc.got...), append([]string(nil), rc.bad...), tries
}

// await polls cond until it holds or 30 s pass.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startDispatcher(t *testing.T, cfg DispatcherConfig, l *Log) *Dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := NewDispatcher(cfg)
	done := make(chan struct{})
	after := l.Last()
	go func() { _ = d.Run(ctx, l, after); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// A receiver failing twice then succeeding gets every event once, in
// order, each signed; the failures were retried.
func TestWebhookRetriesUntilDelivered(t *testing.T) {
	rc := newReceiver(t, 2)
	l := NewLog(100)
	d := startDispatcher(t, DispatcherConfig{Hooks: []Webhook{{Name: "ci", URL: rc.srv.URL, Secret: testSecret}},
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 5}, l)
	l.Append(Event{Type: "job.submitted", Job: "j"}, Event{Type: "task.running", Job: "j", Task: "a"}, Event{Type: "job.succeeded", Job: "j"})
	await(t, "three deliveries", func() bool { got, _, _ := rc.received(); return len(got) == 3 })
	got, bad, tries := rc.received()
	if len(bad) != 0 {
		t.Fatalf("deliveries refused by the receiver: %v", bad)
	}
	if types(got) != "job.submitted task.running[a] job.succeeded" {
		t.Fatalf("order: %s", types(got))
	}
	for id, n := range tries {
		if n != 3 {
			t.Fatalf("event %s tried %d times, want 3 (two failures, one success)", id, n)
		}
	}
	// The receiver records a delivery before its answer reaches the
	// dispatcher, which counts it then: await the count (CI once read
	// Delivered 2 right after the third delivery was received).
	await(t, "the third delivery counted", func() bool { return d.Stats("ci").Delivered == 3 })
	if s := d.Stats("ci"); s.Delivered != 3 || s.Attempts != 9 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// A receiver that never accepts gets MaxAttempts tries, then the event is
// counted failed and the next one is sent.
func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	rc := newReceiver(t, 1000)
	l := NewLog(100)
	d := startDispatcher(t, DispatcherConfig{Hooks: []Webhook{{Name: "ci", URL: rc.srv.URL, Secret: testSecret}},
		BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxAttempts: 3}, l)
	l.Append(Event{Type: "job.submitted", Job: "j"}, Event{Type: "job.failed", Job: "j"})
	await(t, "both events given up", func() bool { return d.Stats("ci").Failed == 2 })
	if s := d.Stats("ci"); s.Attempts != 6 || s.Delivered != 0 {
		t.Fatalf("stats %+v, want 6 attempts", s)
	}
}

// A wrong secret fails the receiver's check.
func TestWebhookSignatureChecked(t *testing.T) {
	rc := newReceiver(t, 0)
	l := NewLog(100)
	d := startDispatcher(t, DispatcherConfig{Hooks: []Webhook{{Name: "ci", URL: rc.srv.URL, Secret: []byte("another-secret-of-16+")}},
		MaxAttempts: 1}, l)
	l.Append(Event{Type: "job.submitted", Job: "j"})
	await(t, "the attempt", func() bool { return d.Stats("ci").Failed == 1 })
	if _, bad, _ := rc.received(); len(bad) != 1 || !strings.Contains(bad[0], "signature") {
		t.Fatalf("receiver saw %v, want a signature mismatch", bad)
	}
}

// Only the leader sends; filters select types.
func TestWebhookLeaderOnlyAndFilters(t *testing.T) {
	rc := newReceiver(t, 0)
	l := NewLog(100)
	var mu sync.Mutex
	leading := false
	isLeader := func() bool { mu.Lock(); defer mu.Unlock(); return leading }
	d := startDispatcher(t, DispatcherConfig{IsLeader: isLeader, Hooks: []Webhook{{Name: "ci", URL: rc.srv.URL, Secret: testSecret, Events: []string{"job.*"}}}}, l)
	l.Append(Event{Type: "job.submitted", Job: "standby"})
	await(t, "the standby's event passed over", func() bool { return d.Stats("ci").NotLeading == 1 })
	mu.Lock()
	leading = true
	mu.Unlock()
	l.Append(Event{Type: "task.running", Job: "lead"}, Event{Type: "job.running", Job: "lead"})
	await(t, "job.running delivered", func() bool { got, _, _ := rc.received(); return len(got) >= 1 })
	got, _, _ := rc.received()
	for _, e := range got {
		if e.Type == "task.running" {
			t.Fatalf("filtered type delivered: %+v", e)
		}
	}
	if len(got) != 1 || got[0].Job != "lead" || got[0].Type != "job.running" {
		t.Fatalf("got %+v, want only the leader's job.running", got)
	}
}

// The queue drops the oldest beyond its size and counts them.
func TestHookQueueDropsOldest(t *testing.T) {
	q := &hookQueue{hook: Webhook{Name: "q"}, wake: make(chan struct{}, 1)}
	for i := range 5 {
		q.push(Event{Seq: uint64(i + 1)}, 3)
	}
	var seqs []uint64
	for {
		e, ok := q.pop()
		if !ok {
			break
		}
		seqs = append(seqs, e.Seq)
	}
	if len(seqs) != 3 || seqs[0] != 3 || seqs[2] != 5 || q.stats.Dropped != 2 {
		t.Fatalf("kept %v, dropped %d; want [3 4 5], 2", seqs, q.stats.Dropped)
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, 500 * time.Millisecond}, {2, time.Second}, {3, 2 * time.Second}, {7, 30 * time.Second}, {100, 30 * time.Second}} {
		if got := Backoff(c.attempt, 500*time.Millisecond, 30*time.Second); got != c.want {
			t.Errorf("Backoff(%d) = %s, want %s", c.attempt, got, c.want)
		}
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"job.succeeded"}`)
	sig := Sign(testSecret, now, body)
	ts := "1800000000"
	for _, c := range []struct {
		name, ts, sig string
		body          []byte
		at            time.Time
		ok            bool
	}{
		{"valid", ts, sig, body, now, true},
		{"body changed", ts, sig, []byte(`{"type":"job.failed"}`), now, false},
		{"timestamp changed (replay with a fresh time)", "1800000100", sig, body, now.Add(100 * time.Second), false},
		{"too old", ts, sig, body, now.Add(DefaultTolerance + time.Second), false},
		{"not a number", "x", sig, body, now, false},
	} {
		err := Verify(testSecret, c.ts, c.sig, c.body, c.at, DefaultTolerance)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestParseWebhooks(t *testing.T) {
	files := map[string][]byte{"/etc/g/ci.secret": []byte("0123456789abcdef\n"), "/etc/g/short": []byte("short")}
	read := func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, fs.ErrNotExist
	}
	for _, c := range []struct {
		name, doc, err string
	}{
		{"valid", "webhooks:\n- {name: ci, url: 'https://ci.example/h', secretFile: ci.secret, events: ['job.*', task.failed]}", ""},
		{"none", "webhooks: []", ""},
		{"bad name", "webhooks:\n- {name: CI, url: 'http://x', secretFile: ci.secret}", "webhooks[0].name"},
		{"duplicate", "webhooks:\n- {name: ci, url: 'http://x', secretFile: ci.secret}\n- {name: ci, url: 'http://y', secretFile: ci.secret}", "webhooks[1].name"},
		{"bad url", "webhooks:\n- {name: ci, url: 'ftp://x', secretFile: ci.secret}", "webhooks[0].url"},
		{"no secret", "webhooks:\n- {name: ci, url: 'http://x'}", "webhooks[0].secretFile"},
		{"missing secret file", "webhooks:\n- {name: ci, url: 'http://x', secretFile: nope}", "webhooks[0].secretFile"},
		{"short secret", "webhooks:\n- {name: ci, url: 'http://x', secretFile: short}", "webhooks[0].secretFile"},
		{"bad pattern", "webhooks:\n- {name: ci, url: 'http://x', secretFile: ci.secret, events: ['jobs']}", "webhooks[0].events[0]"},
		{"unknown field", "webhooks:\n- {name: ci, url: 'http://x', secretFile: ci.secret, secret: abc}", "unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hooks, err := ParseWebhooks("/etc/g/webhooks.yaml", []byte(c.doc), read)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.name == "valid" && (len(hooks) != 1 || string(hooks[0].Secret) != "0123456789abcdef" || !hooks[0].Wants("job.failed") || hooks[0].Wants("task.running")) {
					t.Fatalf("hooks %+v", hooks)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one naming %s", err, c.err)
			}
		})
	}
	_, err := ParseWebhooks("w", []byte(strings.Repeat("#", MaxWebhooksFileBytes+1)), read)
	if err == nil {
		t.Fatal("an oversized file was accepted")
	}
	if _, err := LoadWebhooks(""); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWebhooks("/nonexistent/webhooks.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadWebhooks of a missing file: %v", err)
	}
}

// LoadWebhooks reads secrets relative to the file and refuses one that
// others may read.
func TestLoadWebhooksSecretMode(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "webhooks.yaml")
	if err := os.WriteFile(conf, []byte("webhooks: [{name: ci, url: 'http://127.0.0.1:1/h', secretFile: ci.secret}]"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "ci.secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWebhooks(conf); err == nil || !strings.Contains(err.Error(), "webhooks[0].secretFile") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a 0644 secret: %v, want a refusal naming webhooks[0].secretFile", err)
	}
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	hooks, err := LoadWebhooks(conf)
	if err != nil || len(hooks) != 1 || string(hooks[0].Secret) != "0123456789abcdef0123" {
		t.Fatalf("a 0600 secret: %+v, %v", hooks, err)
	}
}
