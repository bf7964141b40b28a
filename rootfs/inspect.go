package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
)

// Info describes a bundle file.
type Info struct {
	Path     string   `json:"path"`
	Digest   string   `json:"digest"`
	Size     int64    `json:"size"`
	Manifest Manifest `json:"manifest"`
}

// Inspect reads a bundle's digest and manifest in one pass.
func Inspect(p string) (Info, error) {
	f, err := os.Open(p)
	if err != nil {
		return Info{}, fmt.Errorf("inspect: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	cr := &countReader{r: io.TeeReader(f, h)}
	tr, err := openTar(cr)
	if err != nil {
		return Info{}, fmt.Errorf("inspect %s: %w", p, err)
	}
	var m *Manifest
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Info{}, fmt.Errorf("inspect %s: %w", p, err)
		}
		if path.Clean(hdr.Name) == ManifestPath {
			var mm Manifest
			if err := json.NewDecoder(io.LimitReader(tr, 256<<20)).Decode(&mm); err != nil {
				return Info{}, fmt.Errorf("inspect %s: manifest: %w", p, err)
			}
			m = &mm
		}
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return Info{}, fmt.Errorf("inspect %s: %w", p, err)
	}
	if m == nil {
		return Info{}, fmt.Errorf("inspect %s: %w", p, errors.New("no "+ManifestPath+": not a gleaner bundle"))
	}
	return Info{Path: p, Digest: DigestPrefix + hex.EncodeToString(h.Sum(nil)), Size: cr.n, Manifest: *m}, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
