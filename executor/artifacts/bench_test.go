package artifacts

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkTransferDirStore packs, uploads, downloads (verifying the digest)
// and unpacks a 32 MiB file through a directory store: the cost of passing
// one artifact, disk to disk.
func BenchmarkTransferDirStore(b *testing.B) {
	const size = 32 << 20
	src := b.TempDir()
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(src, "blob"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	srcRoot, err := os.OpenRoot(src)
	if err != nil {
		b.Fatal(err)
	}
	defer srcRoot.Close()
	st, err := NewDirStore(filepath.Join(b.TempDir(), "store"))
	if err != nil {
		b.Fatal(err)
	}
	tmp := b.TempDir()
	ctx := context.Background()
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		f, ref, err := Pack(srcRoot, "blob", size, tmp)
		if err != nil {
			b.Fatal(err)
		}
		if err := Upload(ctx, st, "job", "t", uint64(i), "blob", f, ref); err != nil {
			b.Fatal(err)
		}
		f.Close()
		os.Remove(f.Name())
		g, ref, err := Download(ctx, st, "job", "t", uint64(i), "blob", size, tmp)
		if err != nil {
			b.Fatal(err)
		}
		dst, err := os.OpenRoot(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if err := Unpack(dst, "in/blob", g, ref, size, os.Getuid(), os.Getgid()); err != nil {
			b.Fatal(err)
		}
		dst.Close()
		g.Close()
		os.Remove(g.Name())
	}
}
