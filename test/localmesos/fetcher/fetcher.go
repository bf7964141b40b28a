package fetcher

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Fetcher fetches URIs into sandboxes. The zero value works without a cache.
type Fetcher struct {
	// CacheDir holds cached downloads of URIs that ask for the cache; empty
	// disables caching (every URI is fetched afresh).
	CacheDir string
	// Client fetches http(s) URIs; nil means http.DefaultClient.
	Client *http.Client

	mu sync.Mutex // serialises cache fills
}

// Fetch fetches every URI into dir, in order, stopping at the first failure.
func (f *Fetcher) Fetch(ctx context.Context, uris []mesos.CommandInfo_URI, dir string) error {
	for i := range uris {
		if err := f.fetchOne(ctx, &uris[i], dir); err != nil {
			return fmt.Errorf("fetch %q: %w", uris[i].Value, err)
		}
	}
	return nil
}

func (f *Fetcher) fetchOne(ctx context.Context, u *mesos.CommandInfo_URI, dir string) error {
	if u.Value == "" {
		return errors.New("empty URI")
	}
	name := u.GetOutputFile()
	if name == "" {
		name = baseName(u.Value)
	}
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("cannot derive a file name from the URI")
	}
	dst, err := within(dir, name)
	if err != nil {
		return fmt.Errorf("output file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if u.GetCache() && f.CacheDir != "" {
		err = f.fromCache(ctx, u.Value, dst)
	} else {
		err = f.download(ctx, u.Value, dst)
	}
	if err != nil {
		return err
	}
	switch {
	case u.GetExecutable():
		return os.Chmod(dst, 0o755)
	case u.GetExtract() && isArchive(name):
		return extract(dst, dir)
	}
	return nil
}

// baseName is the last path element of a URI or path, without query.
func baseName(raw string) string {
	if pu, err := url.Parse(raw); err == nil && pu.Scheme != "" {
		return path.Base(pu.Path)
	}
	return filepath.Base(raw)
}

// within joins name to dir and refuses results outside dir.
func within(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(name) {
		return "", fmt.Errorf("%q escapes the directory", name)
	}
	return p, nil
}

func (f *Fetcher) fromCache(ctx context.Context, uri, dst string) error {
	sum := sha256.Sum256([]byte(uri))
	cached := filepath.Join(f.CacheDir, hex.EncodeToString(sum[:]))
	f.mu.Lock()
	if _, err := os.Stat(cached); err != nil {
		if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
			f.mu.Unlock()
			return fmt.Errorf("cache dir: %w", err)
		}
		tmp := cached + ".part"
		if err := f.download(ctx, uri, tmp); err != nil {
			_ = os.Remove(tmp)
			f.mu.Unlock()
			return err
		}
		if err := os.Rename(tmp, cached); err != nil {
			f.mu.Unlock()
			return fmt.Errorf("cache: %w", err)
		}
	}
	f.mu.Unlock()
	return copyFile(cached, dst)
}

// download copies a local path, file:// or http(s):// URI to dst.
func (f *Fetcher) download(ctx context.Context, uri, dst string) error {
	pu, err := url.Parse(uri)
	if err != nil || pu.Scheme == "" {
		if !filepath.IsAbs(uri) {
			return fmt.Errorf("relative paths are not supported (no frameworks home)")
		}
		return copyFile(uri, dst)
	}
	switch pu.Scheme {
	case "file":
		return copyFile(pu.Path, dst)
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return err
		}
		c := f.Client
		if c == nil {
			c = http.DefaultClient
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %s", resp.Status)
		}
		return writeFile(dst, resp.Body, 0o644)
	default:
		return fmt.Errorf("unsupported scheme %q", pu.Scheme)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFile(dst, in, 0o644)
}

func writeFile(dst string, r io.Reader, mode os.FileMode) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var archiveSuffixes = []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip"}

func isArchive(name string) bool {
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// extract unpacks archive into dir, refusing entries that would land
// outside dir.
func extract(archive, dir string) error {
	if strings.HasSuffix(archive, ".zip") {
		return unzip(archive, dir)
	}
	fh, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer fh.Close()
	var r io.Reader = fh
	switch {
	case strings.HasSuffix(archive, ".gz"), strings.HasSuffix(archive, ".tgz"):
		gz, err := gzip.NewReader(fh)
		if err != nil {
			return fmt.Errorf("extract: %w", err)
		}
		defer gz.Close()
		r = gz
	case strings.HasSuffix(archive, ".bz2"), strings.HasSuffix(archive, ".tbz2"):
		r = bzip2.NewReader(fh)
	case strings.HasSuffix(archive, ".xz"), strings.HasSuffix(archive, ".txz"):
		cmd := exec.Command("xz", "-dc")
		cmd.Stdin = fh
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("extract xz (needs the xz command): %w", err)
		}
		defer cmd.Wait() //nolint:errcheck // the tar reader reports truncation
		defer out.Close()
		r = out
	}
	return untar(r, dir)
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("extract: %w", err)
		}
		p, err := within(dir, h.Name)
		if err != nil {
			return fmt.Errorf("extract entry: %w", err)
		}
		mode := os.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := writeFile(p, tr, mode); err != nil {
				return err
			}
			if err := os.Chmod(p, mode); err != nil {
				return err
			}
		case tar.TypeSymlink:
			target := h.Linkname
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(p), target)
			}
			if _, err := within(dir, mustRel(dir, target)); err != nil || filepath.IsAbs(h.Linkname) {
				return fmt.Errorf("extract entry %q: link target %q escapes the directory", h.Name, h.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		default:
			// devices, fifos and hard links are skipped, as a sandbox needs none
		}
	}
}

func mustRel(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return rel
}

func unzip(archive, dir string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		p, err := within(dir, zf.Name)
		if err != nil {
			return fmt.Errorf("extract entry: %w", err)
		}
		if zf.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		mode := zf.Mode().Perm()
		if mode == 0 {
			mode = 0o644
		}
		err = writeFile(p, rc, mode)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
