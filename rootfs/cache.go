package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Cache is a host-side store of extracted bundles keyed by digest:
// <dir>/sha256-<hex>/ holds the verified, extracted tree and
// <dir>/sha256-<hex>.use records its use (see Acquire). A bundle is spooled
// to a temporary file while it is hashed, within Limits.CompressedBytes, and
// extracted only once its digest matched, within the other Limits; entries
// appear atomically (extract into a temporary directory, then rename), so
// concurrent executors can share one cache. After each extraction the
// least recently used bundles that no task holds are evicted until the
// cache is within CapBytes.
type Cache struct {
	Dir string
	// Limits bound each bundle; zero fields take DefaultLimits.
	Limits Limits
	// CapBytes caps the disk space of the whole cache (zero:
	// DefaultCacheBytes). A bundle larger than it is refused.
	CapBytes int64
	// Fetch bounds http(s) downloads; zero fields take DefaultFetchTimeouts.
	Fetch FetchTimeouts
}

// NewCache opens (creating) a cache directory.
func NewCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundle cache %s: %w", dir, err)
	}
	return &Cache{Dir: dir}, nil
}

func (c *Cache) capBytes() int64 {
	if c.CapBytes <= 0 {
		return DefaultCacheBytes
	}
	return c.CapBytes
}

const entryPrefix = "sha256-"

func (c *Cache) path(digest string) (string, error) {
	h, err := ParseDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(c.Dir, entryPrefix+h), nil
}

// Get returns the extracted tree of digest if the cache holds it. The tree
// may be evicted at any time unless the caller holds a Lease on it.
func (c *Cache) Get(digest string) (string, bool) {
	p, err := c.path(digest)
	if err != nil {
		return "", false
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return p, true
	}
	return "", false
}

// Put extracts the bundle read from r into the cache: the stream is first
// spooled to a temporary file while it is hashed, and nothing is extracted
// unless it hashes to digest. Neither the spooled file nor a partial tree
// is kept when a limit or the digest refuses the bundle. The tree is not
// protected from eviction; tasks use Acquire.
func (c *Cache) Put(digest string, r io.Reader) (string, error) {
	dst, err := c.path(digest)
	if err != nil {
		return "", err
	}
	if p, ok := c.Get(digest); ok {
		return p, nil
	}
	lim := c.Limits.WithDefaults()
	spool, err := c.spool(digest, r, lim.CompressedBytes)
	if err != nil {
		return "", err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	tmp, err := os.MkdirTemp(c.Dir, ".put-*")
	if err != nil {
		return "", fmt.Errorf("bundle cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	opt := lim.ExtractOptions()
	capped := c.capBytes() < opt.MaxBytes
	if capped {
		opt.MaxBytes = c.capBytes()
	}
	root := filepath.Join(tmp, "rootfs")
	if err := Extract(spool, root, opt); err != nil {
		var le *LimitError
		if capped && errors.As(err, &le) && le.Limit == LimitExtractedBytes {
			le.Limit = LimitCacheBytes
		}
		return "", err
	}
	_ = os.RemoveAll(filepath.Join(root, ".gleaner"))
	if err := os.Rename(root, dst); err != nil {
		if p, ok := c.Get(digest); ok { // another executor won the race
			return p, nil
		}
		return "", fmt.Errorf("bundle cache: %w", err)
	}
	return dst, nil
}

// spool copies at most max bytes of r to a temporary file in the cache
// while hashing them, and returns the file rewound once its digest matched.
func (c *Cache) spool(digest string, r io.Reader, max int64) (*os.File, error) {
	f, err := os.CreateTemp(c.Dir, ".spool-*")
	if err != nil {
		return nil, fmt.Errorf("bundle cache: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("bundle cache: read bundle: %w", err)
	}
	if n > max {
		return nil, &LimitError{Limit: LimitCompressedBytes, Max: max}
	}
	if got := DigestPrefix + hex.EncodeToString(h.Sum(nil)); got != digest {
		return nil, &DigestMismatchError{Want: digest, Got: got}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("bundle cache: %w", err)
	}
	keep = true
	return f, nil
}

// PutFile is Put for a bundle file.
func (c *Cache) PutFile(digest, p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("bundle cache: %w", err)
	}
	defer f.Close()
	return c.Put(digest, f)
}

// Acquire makes sure the bundle is cached — already there, a file at one of
// the candidate local paths, or the uri itself (file://, a path, or
// http(s)://) — and returns a Lease that keeps it from eviction until it is
// released (or the process ends). A miss evicts least recently used bundles
// that nobody holds until the cache is within its cap.
func (c *Cache) Acquire(ctx context.Context, digest, uri string, candidates ...string) (*Lease, error) {
	dir, err := c.path(digest)
	if err != nil {
		return nil, err
	}
	l, err := c.lease(dir)
	if err != nil {
		return nil, err
	}
	if _, ok := c.Get(digest); ok {
		return l, nil
	}
	if _, err := c.fetch(ctx, digest, uri, candidates...); err != nil {
		l.Release()
		c.dropRecord(dir)
		return nil, err
	}
	if _, err := c.Evict(); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

func (c *Cache) fetch(ctx context.Context, digest, uri string, candidates ...string) (string, error) {
	for _, cand := range candidates {
		if fi, err := os.Stat(cand); err == nil && fi.Mode().IsRegular() {
			return c.PutFile(digest, cand)
		}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("bundle uri %q: %w", uri, err)
	}
	switch u.Scheme {
	case "", "file":
		p := u.Path
		if u.Scheme == "" {
			p = uri
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("bundle %s: not in the sandbox, the cache, or at %s", digest, p)
		}
		return c.PutFile(digest, p)
	case "http", "https":
		return fetchHTTP(ctx, uri, c.Fetch, c.Limits.WithDefaults().CompressedBytes, func(r io.Reader) (string, error) {
			return c.Put(digest, r)
		})
	}
	return "", fmt.Errorf("bundle uri %q: unsupported scheme %q", uri, strings.ToLower(u.Scheme))
}
