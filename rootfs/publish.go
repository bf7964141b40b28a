package rootfs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Publish copies a bundle to a store under its content-addressed name
// sha256-<hex>.tar.gz and returns the resulting URI and the digest. to is
// file:///dir/ (or a plain directory path) or an http(s):// prefix that
// accepts PUT.
func Publish(ctx context.Context, bundle, to string) (uri, digest string, err error) {
	digest, size, err := FileDigest(bundle)
	if err != nil {
		return "", "", fmt.Errorf("publish: %w", err)
	}
	name, _ := ContentName(digest)
	u, err := url.Parse(to)
	if err != nil {
		return "", "", fmt.Errorf("publish: --to %q: %w", to, err)
	}
	switch u.Scheme {
	case "file", "":
		dir := u.Path
		if u.Scheme == "" {
			dir = to
		}
		if dir == "" {
			return "", "", fmt.Errorf("publish: --to %q names no directory", to)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", fmt.Errorf("publish: %w", err)
		}
		dst := filepath.Join(dir, name)
		if d, _, err := FileDigest(dst); err == nil && d == digest {
			return "file://" + dst, digest, nil
		}
		if err := copyAtomic(bundle, dst); err != nil {
			return "", "", fmt.Errorf("publish: %w", err)
		}
		return "file://" + dst, digest, nil
	case "http", "https":
		target := strings.TrimSuffix(to, "/") + "/" + name
		f, err := os.Open(bundle)
		if err != nil {
			return "", "", fmt.Errorf("publish: %w", err)
		}
		defer f.Close()
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, f)
		if err != nil {
			return "", "", fmt.Errorf("publish: %w", err)
		}
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/gzip")
		req.Header.Set("X-Content-Digest", digest)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", "", fmt.Errorf("publish to %s: %w", target, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return "", "", fmt.Errorf("publish to %s: %s: %s", target, resp.Status, strings.TrimSpace(string(b)))
		}
		return target, digest, nil
	}
	return "", "", fmt.Errorf("publish: --to %q: unsupported scheme %q (want file or http(s))", to, u.Scheme)
}

func copyAtomic(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".publish-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
