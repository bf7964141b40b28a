package rootfs

import (
	"bytes"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BaseKind is what a --base argument turned out to be.
type BaseKind string

// The kinds of base Build accepts.
const (
	BaseDir         BaseKind = "dir"
	BaseRootfsTar   BaseKind = "rootfs-tar"
	BaseDockerImage BaseKind = "docker-image-tar"
	BaseOCILayout   BaseKind = "oci-layout-tar"
)

// DetectBase tells a directory, a docker-save tarball, an OCI layout
// tarball and a plain rootfs tarball apart.
func DetectBase(p string) (BaseKind, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("base: %w", err)
	}
	if fi.IsDir() {
		return BaseDir, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("base: %w", err)
	}
	defer f.Close()
	tr, err := openTar(f)
	if err != nil {
		return "", fmt.Errorf("base %s: %w", p, err)
	}
	hasManifest, hasIndex, hasLayout := false, false, false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("base %s: not a tarball: %w", p, err)
		}
		switch path.Clean(hdr.Name) {
		case "manifest.json":
			hasManifest = true
		case "index.json":
			hasIndex = true
		case "oci-layout":
			hasLayout = true
		}
	}
	switch {
	case hasManifest:
		return BaseDockerImage, nil
	case hasLayout && hasIndex:
		return BaseOCILayout, nil
	}
	return BaseRootfsTar, nil
}

// materializeBase returns a directory holding the base tree (unpacked into
// a temporary directory for tarballs), the image config for images, and a
// cleanup function.
// Every unpacking is bounded by lim (see ImportLimits).
func materializeBase(ctx context.Context, base, tmpRoot string, lim Limits) (string, *ImageConfig, func(), error) {
	kind, err := DetectBase(base)
	if err != nil {
		return "", nil, nil, err
	}
	if kind == BaseDir {
		return base, nil, func() {}, nil
	}
	tmp, err := os.MkdirTemp(tmpRoot, "gleaner-base-*")
	if err != nil {
		return "", nil, nil, fmt.Errorf("base: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }
	fail := func(err error) (string, *ImageConfig, func(), error) {
		cleanup()
		return "", nil, nil, fmt.Errorf("base %s: %w", base, err)
	}
	bounded := lim.ExtractOptions()
	bounded.SkipSpecial = true
	root := filepath.Join(tmp, "rootfs")
	switch kind {
	case BaseRootfsTar:
		f, err := os.Open(base)
		if err != nil {
			return fail(err)
		}
		err = Extract(f, root, bounded)
		f.Close()
		if err != nil {
			return fail(err)
		}
		return root, nil, cleanup, nil
	case BaseDockerImage:
		img, err := tarball.ImageFromPath(base, nil)
		if err != nil {
			return fail(fmt.Errorf("read docker image: %w", err))
		}
		cfg, err := flatten(ctx, img, root, bounded)
		if err != nil {
			return fail(err)
		}
		return root, cfg, cleanup, nil
	case BaseOCILayout:
		layoutDir := filepath.Join(tmp, "layout")
		f, err := os.Open(base)
		if err != nil {
			return fail(err)
		}
		layoutOpt := bounded
		layoutOpt.SkipSpecial = false
		err = Extract(f, layoutDir, layoutOpt)
		f.Close()
		if err != nil {
			return fail(err)
		}
		img, err := ociLayoutImage(layoutDir)
		if err != nil {
			return fail(err)
		}
		cfg, err := flatten(ctx, img, root, bounded)
		if err != nil {
			return fail(err)
		}
		return root, cfg, cleanup, nil
	}
	return fail(fmt.Errorf("unknown base kind %s", kind))
}

// flatten applies the image's layers (with whiteouts) into dir and returns
// its run configuration, within opt's bounds.
func flatten(ctx context.Context, img v1.Image, dir string, opt ExtractOptions) (*ImageConfig, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			rc.Close()
		case <-done:
		}
	}()
	if err := Extract(rc, dir, opt); err != nil {
		return nil, fmt.Errorf("flatten image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil || cf == nil {
		return nil, nil //nolint:nilerr // an image without a readable config still has a filesystem
	}
	c := cf.Config
	return &ImageConfig{Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd, WorkingDir: c.WorkingDir, User: c.User}, nil
}

type ociDescriptor struct {
	MediaType string            `json:"mediaType"`
	Digest    string            `json:"digest"`
	Platform  *v1.Platform      `json:"platform,omitempty"`
	Annots    map[string]string `json:"annotations,omitempty"`
}

type ociIndex struct {
	MediaType string          `json:"mediaType"`
	Manifests []ociDescriptor `json:"manifests"`
}

type ociManifest struct {
	MediaType string          `json:"mediaType"`
	Config    ociDescriptor   `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
}

// blobPath maps "sha256:abc" to blobs/sha256/abc inside an OCI layout.
func blobPath(dir, digest string) (string, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return "", fmt.Errorf("bad digest %q: %w", digest, err)
	}
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex), nil
}

// ociLayoutImage builds an image from an unpacked OCI layout: the first
// manifest of index.json (descending into nested indexes and preferring the
// host's platform).
func ociLayoutImage(dir string) (v1.Image, error) {
	b, err := readJSONFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("read OCI index: %w", err)
	}
	for depth := 0; depth < 4; depth++ {
		var idx ociIndex
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("parse OCI index: %w", err)
		}
		if len(idx.Manifests) == 0 {
			return nil, errors.New("OCI index lists no manifests")
		}
		d := idx.Manifests[0]
		for _, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.OS == runtime.GOOS && m.Platform.Architecture == runtime.GOARCH {
				d = m
				break
			}
		}
		p, err := blobPath(dir, d.Digest)
		if err != nil {
			return nil, err
		}
		if b, err = readJSONFile(p); err != nil {
			return nil, fmt.Errorf("read manifest %s: %w", d.Digest, err)
		}
		switch types.MediaType(d.MediaType) {
		case types.OCIImageIndex, types.DockerManifestList:
			continue
		}
		var man ociManifest
		if err := json.Unmarshal(b, &man); err != nil {
			return nil, fmt.Errorf("parse manifest %s: %w", d.Digest, err)
		}
		var layers []v1.Layer
		for _, l := range man.Layers {
			lp, err := blobPath(dir, l.Digest)
			if err != nil {
				return nil, err
			}
			layer, err := tarball.LayerFromFile(lp)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
			}
			layers = append(layers, layer)
		}
		img, err := mutate.AppendLayers(empty.Image, layers...)
		if err != nil {
			return nil, err
		}
		if cp, err := blobPath(dir, man.Config.Digest); err == nil {
			if cb, err := readJSONFile(cp); err == nil {
				if cf, err := v1.ParseConfigFile(bytes.NewReader(cb)); err == nil {
					// Keep the run config; layers come from the manifest.
					cf.RootFS.DiffIDs = nil
					cf.History = nil
					if withCfg, err := mutate.Config(img, cf.Config); err == nil {
						img = withCfg
					}
				}
			}
		}
		return img, nil
	}
	return nil, errors.New("OCI index nests too deeply")
}

// maxImageJSONBytes bounds an OCI index, manifest or config read whole.
const maxImageJSONBytes = 4 << 20

// readJSONFile reads a small JSON document of an image, refusing one
// larger than maxImageJSONBytes.
func readJSONFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImageJSONBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxImageJSONBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes (not an image index, manifest or config)", filepath.Base(p), maxImageJSONBytes)
	}
	return b, nil
}
