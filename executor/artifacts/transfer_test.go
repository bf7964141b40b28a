package artifacts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// sandbox makes a directory with files and opens it as a root.
func sandbox(t *testing.T, files map[string]string) (string, *os.Root) {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return dir, r
}

func upload(t *testing.T, st Store, sb *os.Root, p, name string, max int64) Ref {
	t.Helper()
	f, ref, err := Pack(sb, p, max, t.TempDir())
	if err != nil {
		t.Fatalf("Pack %s: %v", p, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := Upload(context.Background(), st, "job-1", "produce", 0, name, f, ref); err != nil {
		t.Fatalf("Upload %s: %v", p, err)
	}
	return ref
}

func fetch(st Store, sb *os.Root, name, dest string, max int64) error {
	f, ref, err := Download(context.Background(), st, "job-1", "produce", 0, name, max, os.TempDir())
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return Unpack(sb, dest, f, ref, max, os.Getuid(), os.Getgid())
}

// testTransfer passes a file and a directory through st, then corrupts the
// stored object: the fetch fails naming the digest mismatch.
func testTransfer(t *testing.T, st Store) {
	_, src := sandbox(t, map[string]string{"out.txt": "hello\n", "res/a.txt": "A", "res/sub/b.txt": "BB"})
	if err := os.Symlink("/etc/passwd", filepath.Join(src.Name(), "res", "link")); err != nil {
		t.Fatal(err)
	}
	fileRef := upload(t, st, src, "out.txt", "greeting", 1<<20)
	if fileRef.Kind != KindFile || fileRef.Size != 6 || !strings.HasPrefix(fileRef.Digest, "sha256:") {
		t.Fatalf("file ref = %+v", fileRef)
	}
	dirRef := upload(t, st, src, "res/", "results", 1<<20)
	if dirRef.Kind != KindTarGz {
		t.Fatalf("dir ref = %+v", dirRef)
	}
	dstDir, dst := sandbox(t, nil)
	if err := fetch(st, dst, "greeting", "in/deep/greeting.txt", 1<<20); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dstDir, "in/deep/greeting.txt")); err != nil || string(b) != "hello\n" {
		t.Fatalf("fetched file = %q, %v", b, err)
	}
	if err := fetch(st, dst, "results", "in/res", 1<<20); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"in/res/a.txt": "A", "in/res/sub/b.txt": "BB"} {
		if b, err := os.ReadFile(filepath.Join(dstDir, p)); err != nil || string(b) != want {
			t.Fatalf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(dstDir, "in/res/link")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a link was packed: %v", err)
	}
	// Nothing already there is replaced.
	if err := fetch(st, dst, "greeting", "in/deep/greeting.txt", 1<<20); err == nil {
		t.Fatal("fetch over an existing file accepted")
	}
	// A bound smaller than the object refuses it before reading it.
	if err := fetch(st, dst, "greeting", "small", -objectSlack+2); err == nil || !strings.Contains(err.Error(), "larger than its bound") {
		t.Fatalf("fetch beyond the bound = %v", err)
	}
	// Corrupt the stored object: same size, other bytes.
	key := ObjectKey("job-1", fileRef.Digest)
	if err := st.Put(context.Background(), key, strings.NewReader("HELLO\n"), 6); err != nil {
		t.Fatal(err)
	}
	err := fetch(st, dst, "greeting", "corrupt.txt", 1<<20)
	var de *DigestError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "digest mismatch") || !strings.Contains(err.Error(), fileRef.Digest) {
		t.Fatalf("fetch of a corrupted object = %v, want a digest mismatch naming %s", err, fileRef.Digest)
	}
	if _, err := os.Lstat(filepath.Join(dstDir, "corrupt.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a corrupted object was unpacked")
	}
	// A truncated object too.
	if err := st.Put(context.Background(), key, strings.NewReader("hel"), 3); err != nil {
		t.Fatal(err)
	}
	if err := fetch(st, dst, "greeting", "short.txt", 1<<20); !errors.As(err, &de) || !strings.Contains(err.Error(), "fewer than") {
		t.Fatalf("fetch of a truncated object = %v", err)
	}
	// A missing output.
	if err := fetch(st, dst, "nope", "x", 1<<20); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fetch of a missing artifact = %v, want ErrNotFound", err)
	}
}

func TestTransferDirStore(t *testing.T) {
	st, err := NewDirStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	testTransfer(t, st)
}

func TestPackRefusals(t *testing.T) {
	dir, sb := sandbox(t, map[string]string{"big": strings.Repeat("x", 100), "d/a": strings.Repeat("y", 60), "d/b": strings.Repeat("z", 60)})
	if err := os.Symlink("/etc/shadow", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		max  int64
		msg  string
	}{
		{"big", 99, "larger than its bound of 99 bytes"},
		{"d", 100, "more than its bound of 100 bytes"},
		{"link", 1 << 20, "links are not followed"},
		{"linkdir/shadow", 1 << 20, "escapes"},
		{"fifo", 1 << 20, "not a regular file or directory"},
		{"missing", 1 << 20, "no such file"},
	}
	for _, c := range cases {
		f, _, err := Pack(sb, c.path, c.max, t.TempDir())
		if f != nil {
			f.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Pack(%s, %d) = %v, want %q", c.path, c.max, err, c.msg)
		}
	}
	if f, ref, err := Pack(sb, "big", 100, t.TempDir()); err != nil || ref.Size != 100 {
		t.Fatalf("Pack at its bound = %+v, %v", ref, err)
	} else {
		f.Close()
	}
}

func tarGz(t testing.TB, entries []tar.Header, content string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(content))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(content))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func unpackBytes(t testing.TB, sb *os.Root, b []byte, max int64) error {
	f, err := os.CreateTemp(t.TempDir(), "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(b)
	f.Seek(0, 0)
	return Unpack(sb, "out", f, Ref{Kind: KindTarGz, Size: int64(len(b))}, max, os.Getuid(), os.Getgid())
}

func TestUnpackRefusals(t *testing.T) {
	cases := []struct {
		name    string
		entries []tar.Header
		msg     string
	}{
		{"dotdot", []tar.Header{{Typeflag: tar.TypeReg, Name: "../evil"}}, "escapes"},
		{"absolute", []tar.Header{{Typeflag: tar.TypeReg, Name: "/etc/evil"}}, "escapes"},
		{"unclean", []tar.Header{{Typeflag: tar.TypeReg, Name: "a/../../evil"}}, "escapes"},
		{"symlink", []tar.Header{{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "/etc"}}, "neither a file nor a directory"},
		{"too big", []tar.Header{{Typeflag: tar.TypeReg, Name: "a"}, {Typeflag: tar.TypeReg, Name: "b"}}, "more than its bound of 15 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, sb := sandbox(t, nil)
			err := unpackBytes(t, sb, tarGz(t, c.entries, "0123456789"), 15)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Unpack = %v, want %q", err, c.msg)
			}
		})
	}
	// A link planted in the sandbox is not written through.
	dir, sb := sandbox(t, nil)
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "out", "sub")); err != nil {
		t.Fatal(err)
	}
	err := unpackBytes(t, sb, tarGz(t, []tar.Header{{Typeflag: tar.TypeReg, Name: "sub/x"}}, "x"), 100)
	if err == nil {
		t.Fatal("unpack through a planted link accepted")
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Fatalf("written outside the sandbox: %v", left)
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add(tarGz(f, []tar.Header{{Typeflag: tar.TypeDir, Name: "d/"}, {Typeflag: tar.TypeReg, Name: "d/a"}}, "abc"))
	f.Add(tarGz(f, []tar.Header{{Typeflag: tar.TypeReg, Name: "../x"}}, "abc"))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir, sb := sandbox(t, nil)
		_ = unpackBytes(t, sb, b, 1<<16)
		// Whatever it did, it stayed under dir/out, within the bound.
		var total int64
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				if !strings.HasPrefix(p, filepath.Join(dir, "out")+"/") {
					t.Fatalf("wrote %s outside out/", p)
				}
				total += fi.Size()
			}
			return nil
		})
		if total > 1<<16 {
			t.Fatalf("unpacked %d bytes, bound 65536", total)
		}
	})
}
