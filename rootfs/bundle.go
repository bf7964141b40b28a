package rootfs

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Format names the bundle layout written by Build.
const Format = "gleaner-rootfs/v1"

// ManifestPath is where the manifest lives inside a bundle; it is the last
// entry of the archive and is not part of the extracted tree's content.
const ManifestPath = ".gleaner/manifest.json"

// Epoch is the fixed modification time of every bundle entry.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Add copies a host file or directory Src to the absolute bundle path Dst.
type Add struct {
	Src string
	Dst string
}

// ParseAdd parses "SRC:DST".
func ParseAdd(s string) (Add, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return Add{}, fmt.Errorf("--add %q: want SRC:DST", s)
	}
	a := Add{Src: s[:i], Dst: s[i+1:]}
	if !path.IsAbs(a.Dst) {
		return Add{}, fmt.Errorf("--add %q: DST must be an absolute path inside the bundle", s)
	}
	return a, nil
}

// BuildOptions describe a bundle.
type BuildOptions struct {
	// Base is a directory, a rootfs tarball (optionally gzipped), or an
	// OCI/Docker image tarball (docker save or OCI layout); empty means an
	// empty root.
	Base string
	// Adds are applied in order over the base; later ones win.
	Adds []Add
	// TempDir holds scratch space for unpacking tarball bases (default os.TempDir()).
	TempDir string
	// ImportLimits bound what unpacking a tarball or image base may write
	// (an OCI layout's files, then the flattened tree); zero fields take
	// DefaultLimits, the same bounds an executor applies to the bundle.
	ImportLimits Limits
}

// FileEntry is one entry of the manifest.
type FileEntry struct {
	Path   string `json:"path"`
	Type   string `json:"type"` // dir, file, symlink, hardlink
	Mode   string `json:"mode"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Link   string `json:"link,omitempty"`
}

// ImageConfig is what a flattened image declared about running it.
type ImageConfig struct {
	Env        []string `json:"env,omitempty"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	WorkingDir string   `json:"working_dir,omitempty"`
	User       string   `json:"user,omitempty"`
}

// Manifest describes a bundle's tree; it is stored inside the bundle.
type Manifest struct {
	Format    string       `json:"format"`
	Entries   int          `json:"entries"`
	Files     int          `json:"files"`
	Dirs      int          `json:"dirs"`
	Symlinks  int          `json:"symlinks"`
	Hardlinks int          `json:"hardlinks"`
	Bytes     int64        `json:"bytes"`
	Image     *ImageConfig `json:"image,omitempty"`
	Tree      []FileEntry  `json:"tree"`
}

// Result is what Build produced.
type Result struct {
	Digest   string // sha256:<hex> of the bundle bytes
	Size     int64  // bundle bytes
	Manifest Manifest
}

type nodeKind int

const (
	kindDir nodeKind = iota
	kindFile
	kindSymlink
)

type node struct {
	kind nodeKind
	src  string // host path of a file's content
	link string
	mode fs.FileMode
	size int64
	ino  [2]uint64 // dev, inode of src (for hard links)
	nl   uint64
}

// tree is the staged bundle: relative path ("" is the root) → node.
type tree map[string]*node

func (t tree) ensureParents(rel string) {
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		if n, ok := t[d]; !ok || n.kind != kindDir {
			t[d] = &node{kind: kindDir, mode: 0o755}
		}
	}
}

// removeSubtree drops rel and everything under it.
func (t tree) removeSubtree(rel string) {
	delete(t, rel)
	prefix := rel + "/"
	for p := range t {
		if strings.HasPrefix(p, prefix) {
			delete(t, p)
		}
	}
}

// addHostPath stages the host file or directory src at bundle path rel.
func (t tree) addHostPath(src, rel string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		sub, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		dst := rel
		if sub != "." {
			dst = path.Join(rel, filepath.ToSlash(sub))
		}
		if dst == "" || dst == "." {
			dst = ""
		}
		if dst == ".gleaner" || strings.HasPrefix(dst, ".gleaner/") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		var n *node
		switch m := fi.Mode(); {
		case m.IsDir():
			n = &node{kind: kindDir, mode: normDirMode(m)}
		case m.IsRegular():
			n = &node{kind: kindFile, src: p, mode: normFileMode(m), size: fi.Size()}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n.ino = [2]uint64{uint64(st.Dev), st.Ino}
				n.nl = uint64(st.Nlink)
			}
		case m&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
			n = &node{kind: kindSymlink, link: l, mode: 0o777}
		default:
			return nil // devices, sockets, FIFOs: never in a bundle
		}
		if old, ok := t[dst]; ok && (old.kind == kindDir) != (n.kind == kindDir) {
			t.removeSubtree(dst)
		}
		if dst != "" {
			t.ensureParents(dst)
		}
		t[dst] = n
		return nil
	})
}

// normDirMode keeps only the sticky bit and makes directories 0755 (or 1777 for /tmp-like ones).
func normDirMode(m fs.FileMode) fs.FileMode {
	if m&fs.ModeSticky != 0 {
		return 0o1777
	}
	return 0o755
}

// normFileMode makes files 0755 when any execute bit is set, else 0644.
func normFileMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// Build writes a deterministic bundle to w: the same inputs give the same
// bytes (entries sorted by path, fixed times, uid/gid 0, normalised modes, a
// gzip header without name or time, the manifest last).
func Build(ctx context.Context, opt BuildOptions, w io.Writer) (Result, error) {
	t := tree{"": {kind: kindDir, mode: 0o755}}
	var img *ImageConfig
	if opt.Base != "" {
		dir, cfg, cleanup, err := materializeBase(ctx, opt.Base, opt.TempDir, opt.ImportLimits)
		if err != nil {
			return Result{}, err
		}
		defer cleanup()
		img = cfg
		if err := t.addHostPath(dir, ""); err != nil {
			return Result{}, fmt.Errorf("base %s: %w", opt.Base, err)
		}
		t[""] = &node{kind: kindDir, mode: 0o755}
	}
	for _, a := range opt.Adds {
		if !path.IsAbs(a.Dst) {
			return Result{}, fmt.Errorf("add %s: destination %q must be absolute", a.Src, a.Dst)
		}
		rel := strings.TrimPrefix(path.Clean(a.Dst), "/")
		if strings.HasSuffix(a.Dst, "/") {
			if fi, err := os.Stat(a.Src); err == nil && !fi.IsDir() {
				rel = path.Join(rel, filepath.Base(a.Src))
			}
		}
		if _, err := os.Lstat(a.Src); err != nil {
			return Result{}, fmt.Errorf("add %s: %w", a.Src, err)
		}
		if err := t.addHostPath(a.Src, rel); err != nil {
			return Result{}, fmt.Errorf("add %s: %w", a.Src, err)
		}
	}
	return t.write(ctx, w, img)
}

// BuildFile builds into the file out (written atomically).
func BuildFile(ctx context.Context, opt BuildOptions, out string) (Result, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".bundle-*")
	if err != nil {
		return Result{}, fmt.Errorf("create bundle: %w", err)
	}
	defer os.Remove(tmp.Name())
	res, err := Build(ctx, opt, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return Result{}, err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return Result{}, fmt.Errorf("write bundle %s: %w", out, err)
	}
	return res, nil
}

type countingHash struct {
	w io.Writer
	h hashWriter
	n int64
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func (t tree) write(ctx context.Context, w io.Writer, img *ImageConfig) (Result, error) {
	paths := make([]string, 0, len(t))
	for p := range t {
		if p != "" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	out := &countingHash{w: w, h: sha256.New()}
	zw, err := gzip.NewWriterLevel(out, gzip.DefaultCompression)
	if err != nil {
		return Result{}, err
	}
	// The header carries no name, no time and a fixed OS byte.
	zw.Header = gzip.Header{OS: 255}
	tw := tar.NewWriter(zw)
	m := Manifest{Format: Format, Image: img, Tree: make([]FileEntry, 0, len(paths))}
	firstOf := map[[2]uint64]string{}
	buf := make([]byte, 256<<10)
	for i, p := range paths {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
		}
		n := t[p]
		hdr := &tar.Header{
			Name:    p,
			Mode:    int64(n.mode.Perm()),
			ModTime: Epoch,
			Format:  tar.FormatPAX,
		}
		if n.mode&fs.ModeSticky != 0 || n.mode&0o1000 != 0 {
			hdr.Mode |= 0o1000
		}
		e := FileEntry{Path: p, Mode: fmt.Sprintf("%04o", hdr.Mode)}
		var content string
		switch n.kind {
		case kindDir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name = p + "/"
			e.Type = "dir"
			m.Dirs++
		case kindSymlink:
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = n.link
			e.Type, e.Link = "symlink", n.link
			m.Symlinks++
		case kindFile:
			if n.nl > 1 {
				if first, ok := firstOf[n.ino]; ok {
					hdr.Typeflag = tar.TypeLink
					hdr.Linkname = first
					e.Type, e.Link = "hardlink", first
					m.Hardlinks++
					break
				}
				firstOf[n.ino] = p
			}
			hdr.Typeflag = tar.TypeReg
			hdr.Size = n.size
			e.Type, e.Size = "file", n.size
			content = n.src
			m.Files++
			m.Bytes += n.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return Result{}, fmt.Errorf("write %s: %w", p, err)
		}
		if content != "" {
			sum, err := copyFile(tw, content, n.size, buf)
			if err != nil {
				return Result{}, fmt.Errorf("write %s: %w", p, err)
			}
			e.SHA256 = sum
		}
		m.Tree = append(m.Tree, e)
	}
	m.Entries = len(m.Tree)
	mb, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return Result{}, err
	}
	for _, h := range []*tar.Header{
		{Name: ".gleaner/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: Epoch, Format: tar.FormatPAX},
		{Name: ManifestPath, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(mb)), ModTime: Epoch, Format: tar.FormatPAX},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return Result{}, fmt.Errorf("write manifest: %w", err)
		}
	}
	if _, err := tw.Write(mb); err != nil {
		return Result{}, fmt.Errorf("write manifest: %w", err)
	}
	if err := tw.Close(); err != nil {
		return Result{}, err
	}
	if err := zw.Close(); err != nil {
		return Result{}, err
	}
	return Result{Digest: DigestPrefix + hex.EncodeToString(out.h.Sum(nil)), Size: out.n, Manifest: m}, nil
}

// copyFile streams exactly size bytes of the file src into w and returns the
// sha256 of the content; a file that changed size during the build is an error.
func copyFile(w io.Writer, src string, size int64, buf []byte) (string, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(f, size), buf)
	if err != nil {
		return "", err
	}
	if n != size {
		return "", errors.New("file changed size during the build")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
