package rootfs

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// SkipSpecial silently skips device nodes and FIFOs instead of failing
	// (used when flattening third-party images at build time; bundles
	// themselves never contain them).
	SkipSpecial bool
	// MaxBytes bounds the total size of regular files; 0 means no bound.
	MaxBytes int64
	// MaxEntries bounds the number of tar entries plus the parent
	// directories created for entries the tar does not list; 0 means no bound.
	MaxEntries int64
	// MaxFileBytes bounds one regular file; 0 means no bound.
	MaxFileBytes int64
	// MaxPathBytes bounds an entry's name and link target; 0 means no bound.
	MaxPathBytes int
	// MaxPathDepth bounds the components of an entry's name; 0 means no bound.
	MaxPathDepth int
}

// ExtractOptions returns the options that enforce l (after WithDefaults).
func (l Limits) ExtractOptions() ExtractOptions {
	l = l.WithDefaults()
	return ExtractOptions{MaxBytes: l.ExtractedBytes, MaxEntries: l.Entries, MaxFileBytes: l.FileBytes,
		MaxPathBytes: l.PathBytes, MaxPathDepth: l.PathDepth}
}

// UnsafeEntryError names a tar entry that Extract refused.
type UnsafeEntryError struct {
	Entry  string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("unsafe bundle entry %q: %s", e.Entry, e.Reason)
}

func unsafeEntry(name, format string, args ...any) error {
	return &UnsafeEntryError{Entry: name, Reason: fmt.Sprintf(format, args...)}
}

// Extract unpacks a tar stream (gzip-compressed or not) into dst, which is
// created if needed. It refuses, naming the entry: absolute paths, ".."
// components, paths through a symlink, symlinks whose target climbs out of
// the root, hard links to anything but an already extracted regular file
// inside the root, and device nodes or FIFOs. The limits of opt stop it at
// the entry that crosses one, with a *LimitError, before that entry's bytes
// are written. Ownership is not restored: the extracted files belong to the
// caller. On error dst may hold a partial tree.
func Extract(r io.Reader, dst string, opt ExtractOptions) error {
	tr, err := openTar(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("create extraction root: %w", err)
	}
	x := &extractor{root: dst, opt: opt}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read bundle: %w", err)
		}
		x.entries++
		if err := x.checkLimits(hdr); err != nil {
			return err
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
}

// openTar wraps r in a gzip reader when it starts with the gzip magic bytes.
func openTar(r io.Reader) (*tar.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read bundle gzip header: %w", err)
		}
		zr.Multistream(false)
		return tar.NewReader(zr), nil
	}
	return tar.NewReader(br), nil
}

type extractor struct {
	root    string
	opt     ExtractOptions
	written int64
	entries int64
}

// checkLimits refuses an entry that would take the extraction over one of
// its limits, before anything of it is written. A tar header's size is
// exact: the reader yields that many bytes or fails.
func (x *extractor) checkLimits(hdr *tar.Header) error {
	o := x.opt
	over := func(limit string, max int64) error {
		return &LimitError{Limit: limit, Max: max, Entry: hdr.Name}
	}
	if o.MaxEntries > 0 && x.entries > o.MaxEntries {
		return over(LimitEntries, o.MaxEntries)
	}
	if o.MaxPathBytes > 0 && (len(hdr.Name) > o.MaxPathBytes || len(hdr.Linkname) > o.MaxPathBytes) {
		return over(LimitPathBytes, int64(o.MaxPathBytes))
	}
	if o.MaxPathDepth > 0 && strings.Count(strings.Trim(path.Clean("/"+hdr.Name), "/"), "/")+1 > o.MaxPathDepth {
		return over(LimitPathDepth, int64(o.MaxPathDepth))
	}
	if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
		return nil
	}
	if o.MaxFileBytes > 0 && hdr.Size > o.MaxFileBytes {
		return over(LimitFileBytes, o.MaxFileBytes)
	}
	if o.MaxBytes > 0 && hdr.Size > o.MaxBytes-x.written {
		return over(LimitExtractedBytes, o.MaxBytes)
	}
	return nil
}

// cleanName validates an archive path and returns it cleaned and relative
// ("" for the root itself).
func cleanName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", unsafeEntry(name, "NUL byte in path")
	}
	if strings.HasPrefix(name, "/") {
		return "", unsafeEntry(name, "absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", unsafeEntry(name, "path escapes the root (..)")
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// prepareParent makes sure every parent directory of rel exists inside the
// root as a real directory, never following a symlink.
func (x *extractor) prepareParent(name, rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	cur := x.root
	for _, part := range strings.Split(dir, "/") {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// A parent the tar does not list is one more entry on disk.
			x.entries++
			if x.opt.MaxEntries > 0 && x.entries > x.opt.MaxEntries {
				return &LimitError{Limit: LimitEntries, Max: x.opt.MaxEntries, Entry: name}
			}
			if err := os.Mkdir(cur, 0o755); err != nil {
				return fmt.Errorf("entry %q: create parent: %w", name, err)
			}
		case err != nil:
			return fmt.Errorf("entry %q: %w", name, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return unsafeEntry(name, "path goes through symlink %q", strings.TrimPrefix(cur, x.root+"/"))
		case !fi.IsDir():
			return unsafeEntry(name, "parent %q is not a directory", strings.TrimPrefix(cur, x.root+"/"))
		}
	}
	return nil
}

// removeExisting clears a non-directory at p so entry name, a file or a
// link (what), can replace it; a directory there makes the entry unsafe.
// Removing a symlink removes the link, never its target.
func removeExisting(name, p, what string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	if fi.IsDir() {
		return unsafeEntry(name, "%s would replace a directory", what)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("entry %q: replace: %w", name, err)
	}
	return nil
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	name := hdr.Name
	rel, err := cleanName(name)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if x.opt.SkipSpecial {
			return nil
		}
		return unsafeEntry(name, "device nodes and FIFOs are not allowed")
	}
	if rel == "" {
		if hdr.Typeflag == tar.TypeDir {
			return nil
		}
		return unsafeEntry(name, "the root must be a directory")
	}
	if err := x.prepareParent(name, rel); err != nil {
		return err
	}
	target := filepath.Join(x.root, rel)
	perm := fs.FileMode(hdr.Mode) & 0o1777
	switch hdr.Typeflag {
	case tar.TypeDir:
		fi, err := os.Lstat(target)
		if err == nil && !fi.IsDir() {
			if err := os.Remove(target); err != nil {
				return fmt.Errorf("entry %q: replace: %w", name, err)
			}
			err = fs.ErrNotExist
		}
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(target, 0o755); err != nil {
				return fmt.Errorf("entry %q: %w", name, err)
			}
		} else if err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		if err := os.Chmod(target, perm|0o700); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		if perm&0o1000 != 0 {
			return os.Chmod(target, perm|0o700|fs.ModeSticky)
		}
		return nil
	case tar.TypeReg, tar.TypeRegA:
		if err := removeExisting(name, target, "a file"); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|noFollow, 0o600)
		if err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		var src io.Reader = r
		if x.opt.MaxBytes > 0 {
			src = io.LimitReader(r, x.opt.MaxBytes-x.written+1)
		}
		n, err := io.Copy(f, src)
		x.written += n
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("entry %q: write: %w", name, err)
		}
		if x.opt.MaxBytes > 0 && x.written > x.opt.MaxBytes {
			return &LimitError{Limit: LimitExtractedBytes, Max: x.opt.MaxBytes, Entry: name}
		}
		return os.Chmod(target, perm&0o777)
	case tar.TypeSymlink:
		link := hdr.Linkname
		if link == "" || strings.ContainsRune(link, 0) {
			return unsafeEntry(name, "empty or invalid symlink target")
		}
		if !path.IsAbs(link) {
			resolved := path.Join(path.Dir(rel), link)
			if resolved == ".." || strings.HasPrefix(resolved, "../") {
				return unsafeEntry(name, "symlink target %q escapes the root", link)
			}
		}
		if err := removeExisting(name, target, "a symlink"); err != nil {
			return err
		}
		if err := os.Symlink(link, target); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		return nil
	case tar.TypeLink:
		lrel, err := cleanName(hdr.Linkname)
		if err != nil || lrel == "" {
			return unsafeEntry(name, "hard link target %q escapes the root", hdr.Linkname)
		}
		src := filepath.Join(x.root, lrel)
		// The target must be a regular file already extracted, reached
		// without going through a symlink.
		if err := x.noSymlinkParents(lrel); err != nil {
			return unsafeEntry(name, "hard link target %q: %v", hdr.Linkname, err)
		}
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			return unsafeEntry(name, "hard link target %q is not a regular file in the bundle", hdr.Linkname)
		}
		if err := removeExisting(name, target, "a hard link"); err != nil {
			return err
		}
		if err := os.Link(src, target); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		return nil
	default:
		return unsafeEntry(name, "unsupported entry type %q", string(hdr.Typeflag))
	}
}

func (x *extractor) noSymlinkParents(rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	cur := x.root
	for _, part := range strings.Split(dir, "/") {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%q is not a directory", part)
		}
	}
	return nil
}
