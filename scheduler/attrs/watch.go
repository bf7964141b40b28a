package attrs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Watcher keeps an in-memory copy of every host's etcd attributes and of
// the monitor heartbeats, fed by etcd watches, for the scheduler to read
// each offer cycle without I/O. Changed fires (coalesced) after an edit;
// TakeChanged says which hosts changed.
type Watcher struct {
	store *Store
	log   *slog.Logger

	mu       sync.RWMutex
	attrs    map[string]map[string]string
	monitors map[string]json.RawMessage
	changed  map[string]struct{}
	ready    bool
	readyCh  chan struct{}
	notify   chan struct{}
}

// NewWatcher watches s's prefix; run it with Run.
func NewWatcher(s *Store, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.Default()
	}
	return &Watcher{
		store: s, log: log,
		attrs: map[string]map[string]string{}, monitors: map[string]json.RawMessage{},
		changed: map[string]struct{}{}, readyCh: make(chan struct{}), notify: make(chan struct{}, 1),
	}
}

// Ready is closed once both snapshots were loaded.
func (w *Watcher) Ready() <-chan struct{} { return w.readyCh }

// Changed receives a value after attributes changed (one value may stand
// for several changes).
func (w *Watcher) Changed() <-chan struct{} { return w.notify }

// TakeChanged returns the hosts whose attributes changed since the last
// call, and forgets them.
func (w *Watcher) TakeChanged() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.changed))
	for h := range w.changed {
		out = append(out, h)
	}
	clear(w.changed)
	return out
}

// Attrs returns host's etcd attributes; the map is shared and must not be
// modified. Nil when the host has none.
func (w *Watcher) Attrs(host string) map[string]string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.attrs[host]
}

// All returns a copy of the host → attributes index (the inner maps are
// shared, read-only).
func (w *Watcher) All() map[string]map[string]string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make(map[string]map[string]string, len(w.attrs))
	for h, m := range w.attrs {
		out[h] = m
	}
	return out
}

// Monitor returns host's last heartbeat JSON; ok is false when the monitor
// is silent (its key expired with its lease, or never existed).
func (w *Watcher) Monitor(host string) (json.RawMessage, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	m, ok := w.monitors[host]
	return m, ok
}

// Run loads and watches until ctx ends, re-listing after compaction or a
// broken watch.
func (w *Watcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	loaded := make(chan struct{}, 2)
	wg.Add(2)
	go func() { defer wg.Done(); w.loop(ctx, w.store.agentsPrefix(), w.applyAttrs, loaded) }()
	go func() { defer wg.Done(); w.loop(ctx, w.store.MonitorsPrefix(), w.applyMonitor, loaded) }()
	go func() {
		for i := 0; i < 2; i++ {
			select {
			case <-loaded:
			case <-ctx.Done():
				return
			}
		}
		w.mu.Lock()
		if !w.ready {
			w.ready = true
			close(w.readyCh)
		}
		w.mu.Unlock()
	}()
	wg.Wait()
	return ctx.Err()
}

// applyFunc applies one watch event, or, when all is non-nil, replaces the
// whole snapshot with the listed key/value pairs in one step (so readers
// never see a half-loaded snapshot).
type applyFunc func(key string, value []byte, deleted bool, all [][2][]byte)

func (w *Watcher) loop(ctx context.Context, prefix string, apply applyFunc, loaded chan<- struct{}) {
	first := true
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		rev, err := w.list(ctx, prefix, apply)
		if err == nil {
			if first {
				loaded <- struct{}{}
				first = false
			}
			backoff = 50 * time.Millisecond
			err = w.watch(ctx, prefix, rev, apply)
		}
		if ctx.Err() != nil {
			return
		}
		w.log.Warn("attribute watch restarting", "prefix", prefix, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (w *Watcher) list(ctx context.Context, prefix string, apply applyFunc) (int64, error) {
	resp, err := w.store.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", prefix, err)
	}
	kvs := make([][2][]byte, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		kvs[i] = [2][]byte{kv.Key, kv.Value}
	}
	apply("", nil, false, kvs)
	return resp.Header.Revision, nil
}

func (w *Watcher) watch(ctx context.Context, prefix string, rev int64, apply applyFunc) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range w.store.cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			return fmt.Errorf("watch %s: %w", prefix, err)
		}
		for _, ev := range resp.Events {
			apply(string(ev.Kv.Key), ev.Kv.Value, ev.Type == clientv3.EventTypeDelete, nil)
		}
	}
	return fmt.Errorf("watch %s: channel closed", prefix)
}

func (w *Watcher) applyAttrs(key string, value []byte, deleted bool, all [][2][]byte) {
	if all != nil {
		next := map[string]map[string]string{}
		for _, kv := range all {
			h := hostOfAttrKey(w.store.agentsPrefix(), string(kv[0]))
			if h == "" {
				continue
			}
			m, err := decode(kv[1])
			if err != nil {
				w.log.Warn("ignoring undecodable attributes", "host", h, "err", err)
				continue
			}
			next[h] = m
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for h, m := range w.attrs {
			if n, ok := next[h]; !ok || !maps.Equal(m, n) {
				w.changed[h] = struct{}{}
			}
		}
		for h, n := range next {
			if m, ok := w.attrs[h]; !ok || !maps.Equal(m, n) {
				w.changed[h] = struct{}{}
			}
		}
		w.attrs = next
		if len(w.changed) > 0 {
			w.signal()
		}
		return
	}
	h := hostOfAttrKey(w.store.agentsPrefix(), key)
	if h == "" {
		return
	}
	var m map[string]string
	if !deleted {
		var err error
		if m, err = decode(value); err != nil {
			w.log.Warn("ignoring undecodable attributes", "host", h, "err", err)
			return
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if deleted {
		delete(w.attrs, h)
	} else {
		w.attrs[h] = m
	}
	w.changed[h] = struct{}{}
	w.signal()
}

func (w *Watcher) applyMonitor(key string, value []byte, deleted bool, all [][2][]byte) {
	host := func(k string) string {
		h := strings.TrimPrefix(k, w.store.MonitorsPrefix())
		if h == "" || strings.Contains(h, "/") {
			return ""
		}
		return h
	}
	if all != nil {
		next := make(map[string]json.RawMessage, len(all))
		for _, kv := range all {
			if h := host(string(kv[0])); h != "" {
				next[h] = rawJSON(kv[1])
			}
		}
		w.mu.Lock()
		w.monitors = next
		w.mu.Unlock()
		return
	}
	h := host(key)
	if h == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if deleted {
		delete(w.monitors, h)
	} else {
		w.monitors[h] = rawJSON(value)
	}
}

func (w *Watcher) signal() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}
