package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Where the tokens live in etcd (below the scheduler's prefix):
//
//	auth/tokens/<name>   Entry JSON: name, role, sha256, created
const tokensDir = "auth/tokens/"

// The tokens a first start creates, and the files (in the state
// directory) that hold their secrets.
var bootstrapTokens = []struct {
	Name string
	Role Role
	File string
}{
	{"admin", Admin, AdminTokenFile},
	{"read-only", ReadOnly, "read-only.token"},
}

// AdminTokenFile is the file name of the admin token in the state directory.
const AdminTokenFile = "admin.token"

// Store keeps token entries in etcd under a prefix.
type Store struct {
	cli    *clientv3.Client
	prefix string
}

// NewStore uses the scheduler's etcd prefix (e.g. /gleaner/).
func NewStore(cli *clientv3.Client, prefix string) *Store {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Store{cli: cli, prefix: prefix + tokensDir}
}

// List returns the stored entries.
func (s *Store) List(ctx context.Context) ([]Entry, int64, error) {
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("read tokens: %w", err)
	}
	out := make([]Entry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var e Entry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return nil, 0, fmt.Errorf("decode token %s: %w", kv.Key, err)
		}
		out = append(out, e)
	}
	return out, resp.Header.Revision, nil
}

// createAll stores entries unless a token exists already; created is
// false when another scheduler got there first.
func (s *Store) createAll(ctx context.Context, entries []Entry) (created bool, err error) {
	ops := make([]clientv3.Op, 0, len(entries))
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return false, err
		}
		ops = append(ops, clientv3.OpPut(s.prefix+e.Name, string(b)))
	}
	// Any key under the prefix means tokens were set up: the first key
	// that could exist is compared by the prefix's newest create revision.
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(s.prefix), "=", 0).WithPrefix()).
		Then(ops...).Commit()
	if err != nil {
		return false, fmt.Errorf("store tokens: %w", err)
	}
	return resp.Succeeded, nil
}

// Watch calls changed with the stored entries whenever they change after
// revision fromRev (so a token deleted with etcdctl stops working at
// once), until ctx ends.
func (s *Store) Watch(ctx context.Context, fromRev int64, changed func([]Entry), log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		for resp := range s.cli.Watch(wctx, s.prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev+1)) {
			if resp.Err() != nil {
				break
			}
			entries, rev, err := s.List(ctx)
			if err != nil {
				log.Warn("reload tokens", "err", err)
				continue
			}
			changed(entries)
			fromRev = rev
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
			if entries, rev, err := s.List(ctx); err == nil {
				changed(entries)
				fromRev = rev
			}
		}
	}
}

// Bootstrapped is what Bootstrap did.
type Bootstrapped struct {
	Entries []Entry
	// Revision is etcd's revision when Entries were read.
	Revision int64
	// Created is true when this call made the tokens; their secrets are
	// in Files (token name → path, mode 0600).
	Created bool
	Files   map[string]string
}

// Bootstrap returns the stored tokens, creating an admin and a read-only
// token when there are none: their secrets go to files in stateDir
// (created 0700) first, then only their hashes to etcd. When two
// schedulers start at once, one creates and the other removes its files
// and uses the stored entries.
func (s *Store) Bootstrap(ctx context.Context, stateDir string) (Bootstrapped, error) {
	entries, rev, err := s.List(ctx)
	if err != nil {
		return Bootstrapped{}, err
	}
	if len(entries) > 0 {
		return Bootstrapped{Entries: entries, Revision: rev}, nil
	}
	if stateDir == "" {
		return Bootstrapped{}, errors.New("create tokens: no state directory for the token files")
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return Bootstrapped{}, fmt.Errorf("create tokens: %w", err)
	}
	now := time.Now()
	files := map[string]string{}
	var fresh []Entry
	for _, bt := range bootstrapTokens {
		tok, e, err := NewEntry(bt.Name, bt.Role, now)
		if err != nil {
			return Bootstrapped{}, err
		}
		path := filepath.Join(stateDir, bt.File)
		if err := WriteTokenFile(path, tok); err != nil {
			return Bootstrapped{}, fmt.Errorf("create tokens: %w", err)
		}
		files[bt.Name] = path
		fresh = append(fresh, e)
	}
	created, err := s.createAll(ctx, fresh)
	if err != nil || !created {
		for _, p := range files {
			_ = os.Remove(p)
		}
		if err != nil {
			return Bootstrapped{}, err
		}
		entries, rev, err := s.List(ctx)
		return Bootstrapped{Entries: entries, Revision: rev}, err
	}
	entries, rev, err = s.List(ctx)
	return Bootstrapped{Entries: entries, Revision: rev, Created: true, Files: files}, err
}

// WriteTokenFile writes a token to path with mode 0600 (its directory is
// created 0700), replacing the file atomically.
func WriteTokenFile(path, token string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// DefaultStateDir is /var/lib/gleaner when this process may create it,
// else the user's config directory (e.g. ~/.config/gleaner/state).
func DefaultStateDir() string {
	const system = "/var/lib/gleaner"
	if err := os.MkdirAll(system, 0o700); err == nil {
		if f, err := os.CreateTemp(system, ".probe-*"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return system
		}
	}
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "gleaner", "state")
	}
	return ""
}

// DefaultClientTokenFile is where the CLI looks for a token when none is
// given: $XDG_CONFIG_HOME/gleaner/token (~/.config/gleaner/token).
func DefaultClientTokenFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "gleaner", "token")
}
