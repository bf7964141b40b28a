package artifacts

import (
	"archive/tar"
	"compress/gzip"
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
	"strings"
)

// Layout in a store, per job so a job's artifacts go with its records:
//
//	jobs/<job>/objects/sha256/<hex>                  content, addressed by its digest
//	jobs/<job>/refs/<task>/<index>/<name>.json      {"digest","size","kind"}: what an instance uploaded
//
// An input reads the ref, then the object, and checks the object's digest
// against the ref's before it unpacks anything.

// Kinds of object.
const (
	KindFile  = "file"   // a regular file, as it was
	KindTarGz = "tar.gz" // a directory: regular files and directories, no links
)

// Bounds of a transfer.
const (
	// MaxTarEntries bounds the entries of a directory artifact.
	MaxTarEntries = 100_000
	// maxRefBytes bounds a ref object.
	maxRefBytes = 4096
	// objectSlack is what an object may hold beyond its content bound (a
	// directory's tar headers and gzip framing).
	objectSlack = 16 << 20
)

// ObjectBound is the largest object an artifact bounded to maxBytes of
// content may be stored as.
func ObjectBound(maxBytes int64) int64 { return maxBytes + objectSlack }

// Ref is what an instance uploaded under an output name.
type Ref struct {
	Digest string `json:"digest"` // "sha256:<hex>"
	Size   int64  `json:"size"`   // of the object
	Kind   string `json:"kind"`
}

// JobPrefix is the prefix of every key of a job's artifacts.
func JobPrefix(jobID string) string { return "jobs/" + jobID + "/" }

// RefKey is the key of the ref an instance's output artifact name.
func RefKey(jobID, task string, index uint64, name string) string {
	return fmt.Sprintf("jobs/%s/refs/%s/%d/%s.json", jobID, task, index, name)
}

// ObjectKey is the key of a job's object of digest "sha256:<hex>".
func ObjectKey(jobID, digest string) string {
	return "jobs/" + jobID + "/objects/sha256/" + strings.TrimPrefix(digest, "sha256:")
}

// BoundError is a size or count bound exceeded.
type BoundError struct{ Msg string }

func (e *BoundError) Error() string { return e.Msg }

// DigestError is an object whose content does not match its digest.
type DigestError struct {
	Key, Want, Got string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("digest mismatch: object %s has %s, expected %s (the stored object is corrupt or was replaced)", e.Key, e.Got, e.Want)
}

// Pack reads path (relative to the sandbox root) into a new temporary file
// in tmpDir: a regular file as it is, a directory as a gzipped tar of its
// regular files and directories (symbolic links and other files are left
// out). Links are never followed out of the sandbox (os.Root), and path
// itself must not be a link. maxBytes bounds the file, or the directory's
// file bytes in all. The caller removes the file.
func Pack(sandbox *os.Root, p string, maxBytes int64, tmpDir string) (*os.File, Ref, error) {
	p = path.Clean(p)
	fi, err := sandbox.Lstat(p)
	if err != nil {
		return nil, Ref{}, fmt.Errorf("%s: %w", p, err)
	}
	out, err := os.CreateTemp(tmpDir, ".artifact-out-*")
	if err != nil {
		return nil, Ref{}, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(out, h)}
	ref := Ref{}
	switch {
	case fi.Mode().IsRegular():
		ref.Kind = KindFile
		err = copyFile(sandbox, p, cw, maxBytes)
	case fi.IsDir():
		ref.Kind = KindTarGz
		err = packDir(sandbox, p, cw, maxBytes)
	default:
		err = fmt.Errorf("%s is a %s, not a regular file or directory (links are not followed)", p, fi.Mode().Type())
	}
	if err == nil && cw.n > ObjectBound(maxBytes) {
		err = &BoundError{fmt.Sprintf("%s packs into %d bytes, more than its bound of %d", p, cw.n, ObjectBound(maxBytes))}
	}
	if err == nil {
		_, err = out.Seek(0, io.SeekStart)
	}
	if err != nil {
		out.Close()
		os.Remove(out.Name())
		return nil, Ref{}, err
	}
	ref.Size, ref.Digest = cw.n, "sha256:"+hex.EncodeToString(h.Sum(nil))
	return out, ref, nil
}

func copyFile(sandbox *os.Root, p string, w io.Writer, maxBytes int64) error {
	f, err := sandbox.OpenFile(p, readFlags, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", p)
	}
	n, err := io.Copy(w, io.LimitReader(f, maxBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if n > maxBytes {
		return &BoundError{fmt.Sprintf("%s is larger than its bound of %d bytes", p, maxBytes)}
	}
	return nil
}

func packDir(sandbox *os.Root, dir string, w io.Writer, maxBytes int64) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	var total int64
	entries := 0
	err := fs.WalkDir(sandbox.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if rel == "" {
			return nil
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil // links, devices, sockets: left out
		}
		if entries++; entries > MaxTarEntries {
			return &BoundError{fmt.Sprintf("%s has more than %d entries", dir, MaxTarEntries)}
		}
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755})
		}
		f, err := sandbox.OpenFile(p, readFlags, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return nil // replaced meanwhile: left out
		}
		if total+fi.Size() > maxBytes {
			return &BoundError{fmt.Sprintf("%s holds more than its bound of %d bytes", dir, maxBytes)}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: int64(fi.Mode().Perm() & 0o755), Size: fi.Size()}); err != nil {
			return err
		}
		n, err := io.Copy(tw, io.LimitReader(f, fi.Size()))
		if err == nil && n != fi.Size() {
			err = fmt.Errorf("%s changed while it was read", p)
		}
		total += n
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		var be *BoundError
		if errors.As(err, &be) {
			return be
		}
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	return nil
}

// Upload stores a packed object and then its ref (so a ref never names a
// missing object).
func Upload(ctx context.Context, st Store, jobID, task string, index uint64, name string, f *os.File, ref Ref) error {
	if err := st.Put(ctx, ObjectKey(jobID, ref.Digest), f, ref.Size); err != nil {
		return err
	}
	b, err := json.Marshal(ref)
	if err != nil {
		return err
	}
	return st.Put(ctx, RefKey(jobID, task, index, name), strings.NewReader(string(b)), int64(len(b)))
}

// Download fetches an instance's output artifact into a new temporary file
// in tmpDir, bounded by ObjectBound(maxBytes) and verified against the digest of
// its ref. The caller removes the file.
func Download(ctx context.Context, st Store, jobID, task string, index uint64, name string, maxBytes int64, tmpDir string) (*os.File, Ref, error) {
	refKey := RefKey(jobID, task, index, name)
	rc, err := st.Get(ctx, refKey)
	if err != nil {
		return nil, Ref{}, err
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxRefBytes+1))
	rc.Close()
	if err != nil {
		return nil, Ref{}, fmt.Errorf("read %s: %w", refKey, err)
	}
	var ref Ref
	if len(b) > maxRefBytes || json.Unmarshal(b, &ref) != nil || !validDigest(ref.Digest) || ref.Size < 0 ||
		(ref.Kind != KindFile && ref.Kind != KindTarGz) {
		return nil, Ref{}, fmt.Errorf("%s is not a valid artifact ref", refKey)
	}
	if maxObject := ObjectBound(maxBytes); ref.Size > maxObject {
		return nil, Ref{}, &BoundError{fmt.Sprintf("object of %d bytes is larger than its bound of %d bytes", ref.Size, maxObject)}
	}
	key := ObjectKey(jobID, ref.Digest)
	rc, err = st.Get(ctx, key)
	if err != nil {
		return nil, Ref{}, err
	}
	defer rc.Close()
	out, err := os.CreateTemp(tmpDir, ".artifact-in-*")
	if err != nil {
		return nil, Ref{}, err
	}
	fail := func(err error) (*os.File, Ref, error) {
		out.Close()
		os.Remove(out.Name())
		return nil, Ref{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(ctxReader{ctx, rc}, ref.Size+1))
	if err != nil {
		return fail(fmt.Errorf("read %s: %w", key, err))
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); n != ref.Size || got != ref.Digest {
		if n != ref.Size {
			got = fmt.Sprintf("%s of %d bytes (more than the %d recorded)", got, n, ref.Size)
			if n < ref.Size {
				got = fmt.Sprintf("%d bytes (fewer than the %d recorded)", n, ref.Size)
			}
		}
		return fail(&DigestError{Key: key, Want: ref.Digest, Got: got})
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return out, ref, nil
}

func validDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

// Unpack writes a downloaded object at dest (relative to the sandbox root):
// a file as it is, a tar.gz as a directory. maxBytes bounds a directory's
// file bytes in all; MaxTarEntries its entries. Every file and directory
// made is owned by uid:gid; nothing is written through a link, and nothing
// already at dest is replaced.
func Unpack(sandbox *os.Root, dest string, f *os.File, ref Ref, maxBytes int64, uid, gid int) error {
	dest = path.Clean(dest)
	if err := mkdirOwned(sandbox, path.Dir(dest), uid, gid); err != nil {
		return err
	}
	switch ref.Kind {
	case KindFile:
		return writeOwned(sandbox, dest, 0o644, f, ref.Size, uid, gid)
	case KindTarGz:
		return unpackTarGz(sandbox, dest, f, maxBytes, uid, gid)
	}
	return fmt.Errorf("unknown artifact kind %q", ref.Kind)
}

func unpackTarGz(sandbox *os.Root, dest string, r io.Reader, maxBytes int64, uid, gid int) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	if err := mkdirOwned(sandbox, dest, uid, gid); err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	var total int64
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
		if entries >= MaxTarEntries {
			return &BoundError{fmt.Sprintf("more than %d entries", MaxTarEntries)}
		}
		name := strings.TrimSuffix(h.Name, "/")
		if name == "" || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("unpack: entry %q escapes its directory", h.Name)
		}
		p := path.Join(dest, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := mkdirOwned(sandbox, p, uid, gid); err != nil {
				return err
			}
		case tar.TypeReg:
			if h.Size < 0 || total+h.Size > maxBytes {
				return &BoundError{fmt.Sprintf("unpack: more than its bound of %d bytes", maxBytes)}
			}
			total += h.Size
			if err := mkdirOwned(sandbox, path.Dir(p), uid, gid); err != nil {
				return err
			}
			if err := writeOwned(sandbox, p, fs.FileMode(h.Mode)&0o755|0o600, tr, h.Size, uid, gid); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unpack: entry %q is neither a file nor a directory", h.Name)
		}
	}
}

// mkdirOwned makes dir and its missing parents, each owned by uid:gid.
func mkdirOwned(sandbox *os.Root, dir string, uid, gid int) error {
	if dir == "." || dir == "" {
		return nil
	}
	cur := ""
	for _, el := range strings.Split(dir, "/") {
		cur = path.Join(cur, el)
		err := sandbox.Mkdir(cur, 0o755)
		if errors.Is(err, fs.ErrExist) {
			fi, err := sandbox.Lstat(cur)
			if err != nil || !fi.IsDir() {
				return fmt.Errorf("%s exists and is not a directory", cur)
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := sandbox.Lchown(cur, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// writeOwned creates p (never replacing anything) with size bytes of r.
func writeOwned(sandbox *os.Root, p string, mode fs.FileMode, r io.Reader, size int64, uid, gid int) error {
	f, err := sandbox.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, mode)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("%s: short content (%d of %d bytes)", p, n, size)
	}
	if err == nil {
		err = f.Chown(uid, gid)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
