package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Cache is a host-side store of extracted bundles keyed by digest:
// <dir>/sha256-<hex>/ holds the verified, extracted tree. Entries appear
// atomically (extract into a temporary directory, then rename), so
// concurrent executors can share one cache.
type Cache struct {
	Dir string
	// MaxBytes bounds one extracted bundle (0: no bound).
	MaxBytes int64
}

// NewCache opens (creating) a cache directory.
func NewCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundle cache %s: %w", dir, err)
	}
	return &Cache{Dir: dir}, nil
}

func (c *Cache) path(digest string) (string, error) {
	h, err := ParseDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(c.Dir, "sha256-"+h), nil
}

// Get returns the extracted tree of digest if the cache holds it.
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

// Put extracts the bundle read from r into the cache, verifying that its
// bytes hash to digest; nothing is kept when they do not.
func (c *Cache) Put(digest string, r io.Reader) (string, error) {
	dst, err := c.path(digest)
	if err != nil {
		return "", err
	}
	if p, ok := c.Get(digest); ok {
		_, _ = io.Copy(io.Discard, r)
		return p, nil
	}
	tmp, err := os.MkdirTemp(c.Dir, ".put-*")
	if err != nil {
		return "", fmt.Errorf("bundle cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	h := sha256.New()
	tee := io.TeeReader(r, h)
	root := filepath.Join(tmp, "rootfs")
	if err := Extract(tee, root, ExtractOptions{MaxBytes: c.MaxBytes}); err != nil {
		// A digest mismatch explains a corrupt stream better than the
		// tar error; check it first.
		_, _ = io.Copy(io.Discard, tee)
		if got := DigestPrefix + hex.EncodeToString(h.Sum(nil)); got != digest {
			return "", &DigestMismatchError{Want: digest, Got: got}
		}
		return "", err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return "", fmt.Errorf("bundle cache: read bundle: %w", err)
	}
	if got := DigestPrefix + hex.EncodeToString(h.Sum(nil)); got != digest {
		return "", &DigestMismatchError{Want: digest, Got: got}
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

// PutFile is Put for a bundle file.
func (c *Cache) PutFile(digest, p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("bundle cache: %w", err)
	}
	defer f.Close()
	return c.Put(digest, f)
}

// Fetch makes sure the bundle is cached: already there, a file at one of the
// candidate local paths, or the uri itself (file://, a path, or http(s)://).
func (c *Cache) Fetch(ctx context.Context, digest, uri string, candidates ...string) (string, error) {
	if p, ok := c.Get(digest); ok {
		return p, nil
	}
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
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", fmt.Errorf("fetch bundle %s: %w", uri, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("fetch bundle %s: %s", uri, resp.Status)
		}
		return c.Put(digest, resp.Body)
	}
	return "", fmt.Errorf("bundle uri %q: unsupported scheme %q", uri, strings.ToLower(u.Scheme))
}
