package attrs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultPrefix is where Gleaner keeps its state in etcd.
const DefaultPrefix = "/gleaner/"

// ErrNotFound is returned when a host has no such attribute.
var ErrNotFound = errors.New("not found")

// Diff is one attribute's change; Old or New is nil when the key was
// added or removed.
type Diff struct {
	Key string  `json:"key"`
	Old *string `json:"old"`
	New *string `json:"new"`
}

// Change records one edit of a host's attributes: who, when, old → new.
type Change struct {
	Hostname string            `json:"hostname"`
	Who      string            `json:"who"`
	At       time.Time         `json:"at"`
	Op       string            `json:"op"` // put, patch, delete
	Diffs    []Diff            `json:"diffs"`
	Old      map[string]string `json:"old"`
	New      map[string]string `json:"new"`
	Revision int64             `json:"revision,omitempty"`
}

// Store reads and writes attributes in etcd. Every write goes through one
// transaction that also appends the change to the host's history, guarded
// by the attribute key's revision (retried on a concurrent edit).
type Store struct {
	cli    *clientv3.Client
	prefix string
	now    func() time.Time
	// MaxHistory bounds the changes kept per host (oldest dropped after a
	// write); 0 keeps everything. NewStore sets DefaultMaxHistory.
	MaxHistory int
}

// DefaultMaxHistory is how many changes per host a new Store keeps.
const DefaultMaxHistory = 1000

// NewStore uses prefix (DefaultPrefix when empty; a trailing / is added).
func NewStore(cli *clientv3.Client, prefix string) *Store {
	return &Store{cli: cli, prefix: normPrefix(prefix), now: time.Now, MaxHistory: DefaultMaxHistory}
}

func normPrefix(p string) string {
	if p == "" {
		return DefaultPrefix
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// Prefix returns the etcd prefix in use.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) agentsPrefix() string             { return s.prefix + "agents/" }
func (s *Store) attrKey(host string) string       { return s.prefix + "agents/" + host + "/attributes" }
func (s *Store) historyPrefix(host string) string { return s.prefix + "agents/" + host + "/history/" }

// MonitorsPrefix is where monitor daemons keep their heartbeats (one key
// per host, under a lease).
func (s *Store) MonitorsPrefix() string { return s.prefix + "monitors/" }

// hostOfAttrKey returns the host for an attributes key, or "".
func hostOfAttrKey(agentsPrefix, key string) string {
	rest, ok := strings.CutPrefix(key, agentsPrefix)
	if !ok {
		return ""
	}
	host, tail, ok := strings.Cut(rest, "/")
	if !ok || tail != "attributes" {
		return ""
	}
	return host
}

func decode(b []byte) (map[string]string, error) {
	m := map[string]string{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	return m, nil
}

// Get returns a host's etcd attributes (empty when none) and the key's
// mod revision (0 when absent).
func (s *Store) Get(ctx context.Context, host string) (map[string]string, int64, error) {
	if err := ValidateHostname(host); err != nil {
		return nil, 0, err
	}
	resp, err := s.cli.Get(ctx, s.attrKey(host))
	if err != nil {
		return nil, 0, fmt.Errorf("get attributes of %s: %w", host, err)
	}
	if len(resp.Kvs) == 0 {
		return map[string]string{}, 0, nil
	}
	m, err := decode(resp.Kvs[0].Value)
	return m, resp.Kvs[0].ModRevision, err
}

// List returns every host's etcd attributes.
func (s *Store) List(ctx context.Context) (map[string]map[string]string, int64, error) {
	resp, err := s.cli.Get(ctx, s.agentsPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("list attributes: %w", err)
	}
	out := map[string]map[string]string{}
	for _, kv := range resp.Kvs {
		h := hostOfAttrKey(s.agentsPrefix(), string(kv.Key))
		if h == "" {
			continue
		}
		m, err := decode(kv.Value)
		if err != nil {
			return nil, 0, fmt.Errorf("host %s: %w", h, err)
		}
		out[h] = m
	}
	return out, resp.Header.Revision, nil
}

// Put replaces a host's attributes.
func (s *Store) Put(ctx context.Context, host string, attrs map[string]string, who string) (Change, error) {
	if err := Validate(attrs); err != nil {
		return Change{}, err
	}
	return s.update(ctx, host, who, "put", func(map[string]string) (map[string]string, error) {
		return copyMap(attrs), nil
	})
}

// Patch sets the keys of set whose value is non-nil and removes those
// whose value is nil (JSON merge patch).
func (s *Store) Patch(ctx context.Context, host string, set map[string]*string, who string) (Change, error) {
	vals := map[string]string{}
	for k, v := range set {
		if err := ValidateKey(k); err != nil {
			return Change{}, err
		}
		if v != nil {
			vals[k] = *v
		}
	}
	if err := Validate(vals); err != nil {
		return Change{}, err
	}
	return s.update(ctx, host, who, "patch", func(old map[string]string) (map[string]string, error) {
		n := copyMap(old)
		for k, v := range set {
			if v == nil {
				delete(n, k)
			} else {
				n[k] = *v
			}
		}
		if len(n) > MaxKeys {
			return nil, &fielderr.FieldError{Field: "attributes", Msg: fmt.Sprintf("%d keys after the patch, at most %d allowed", len(n), MaxKeys)}
		}
		return n, nil
	})
}

// Delete removes one key; ErrNotFound when the host does not have it.
func (s *Store) Delete(ctx context.Context, host, key, who string) (Change, error) {
	if err := ValidateKey(key); err != nil {
		return Change{}, err
	}
	return s.update(ctx, host, who, "delete", func(old map[string]string) (map[string]string, error) {
		if _, ok := old[key]; !ok {
			return nil, fmt.Errorf("attribute %q of %s: %w", key, host, ErrNotFound)
		}
		n := copyMap(old)
		delete(n, key)
		return n, nil
	})
}

func copyMap(m map[string]string) map[string]string {
	n := make(map[string]string, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

func (s *Store) update(ctx context.Context, host, who, op string, edit func(map[string]string) (map[string]string, error)) (Change, error) {
	if err := ValidateHostname(host); err != nil {
		return Change{}, err
	}
	if who == "" {
		who = "anonymous"
	}
	for attempt := 0; attempt < 20; attempt++ {
		old, rev, err := s.Get(ctx, host)
		if err != nil {
			return Change{}, err
		}
		n, err := edit(old)
		if err != nil {
			return Change{}, err
		}
		ch := Change{Hostname: host, Who: who, At: s.now().UTC(), Op: op, Old: old, New: n, Diffs: diff(old, n)}
		if len(ch.Diffs) == 0 {
			return ch, nil
		}
		hist, err := json.Marshal(ch)
		if err != nil {
			return Change{}, fmt.Errorf("encode change: %w", err)
		}
		key := s.attrKey(host)
		var write clientv3.Op
		if len(n) == 0 {
			write = clientv3.OpDelete(key)
		} else {
			b, err := json.Marshal(n)
			if err != nil {
				return Change{}, fmt.Errorf("encode attributes: %w", err)
			}
			write = clientv3.OpPut(key, string(b))
		}
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(write, clientv3.OpPut(s.historyPrefix(host)+historyID(ch.At), string(hist))).
			Commit()
		if err != nil {
			return Change{}, fmt.Errorf("write attributes of %s: %w", host, err)
		}
		if resp.Succeeded {
			ch.Revision = resp.Header.Revision
			// The change is stored; an oversized history is not fatal.
			_ = s.prune(ctx, host)
			return ch, nil
		}
	}
	return Change{}, fmt.Errorf("write attributes of %s: too many concurrent edits, try again", host)
}

// historyID sorts by time; the random tail keeps same-nanosecond edits apart.
func historyID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%020d-%s", t.UnixNano(), hex.EncodeToString(b[:]))
}

func diff(old, n map[string]string) []Diff {
	var out []Diff
	for k, v := range old {
		if w, ok := n[k]; !ok {
			v := v
			out = append(out, Diff{Key: k, Old: &v})
		} else if w != v {
			v, w := v, w
			out = append(out, Diff{Key: k, Old: &v, New: &w})
		}
	}
	for k, w := range n {
		if _, ok := old[k]; !ok {
			w := w
			out = append(out, Diff{Key: k, New: &w})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// History lists a host's changes, oldest first (at most limit, the most
// recent ones, when limit > 0).
func (s *Store) History(ctx context.Context, host string, limit int) ([]Change, error) {
	if err := ValidateHostname(host); err != nil {
		return nil, err
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	resp, err := s.cli.Get(ctx, s.historyPrefix(host), opts...)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", host, err)
	}
	out := make([]Change, 0, len(resp.Kvs))
	for i := len(resp.Kvs) - 1; i >= 0; i-- {
		var ch Change
		if err := json.Unmarshal(resp.Kvs[i].Value, &ch); err != nil {
			return nil, fmt.Errorf("history of %s: decode %s: %w", host, resp.Kvs[i].Key, err)
		}
		out = append(out, ch)
	}
	return out, nil
}

// Monitors returns the raw heartbeat JSON each monitor daemon keeps at
// <prefix>monitors/<hostname> (absent when its lease expired).
func (s *Store) Monitors(ctx context.Context) (map[string]json.RawMessage, error) {
	resp, err := s.cli.Get(ctx, s.MonitorsPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list monitors: %w", err)
	}
	out := make(map[string]json.RawMessage, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		h := strings.TrimPrefix(string(kv.Key), s.MonitorsPrefix())
		if h == "" || strings.Contains(h, "/") {
			continue
		}
		out[h] = rawJSON(kv.Value)
	}
	return out, nil
}

// rawJSON returns v as JSON; a value that is not JSON becomes a string.
func rawJSON(v []byte) json.RawMessage {
	if json.Valid(v) {
		return append(json.RawMessage(nil), v...)
	}
	b, _ := json.Marshal(string(v))
	return b
}

// prune drops a host's oldest changes beyond MaxHistory.
func (s *Store) prune(ctx context.Context, host string) error {
	if s.MaxHistory <= 0 {
		return nil
	}
	p := s.historyPrefix(host)
	cnt, err := s.cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("count history of %s: %w", host, err)
	}
	extra := cnt.Count - int64(s.MaxHistory)
	if extra <= 0 {
		return nil
	}
	old, err := s.cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(extra))
	if err != nil || len(old.Kvs) == 0 {
		return err
	}
	last := string(old.Kvs[len(old.Kvs)-1].Key)
	if _, err := s.cli.Delete(ctx, p, clientv3.WithRange(last+"\x00")); err != nil {
		return fmt.Errorf("prune history of %s: %w", host, err)
	}
	return nil
}
