package rootfstest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/gleaner-project/gleaner/rootfs"
)

// Bomb is a gzip tar bundle holding bin/ and one file, bin/zeros, of size
// zero bytes: a few hundred KB compressed for hundreds of MB extracted. It
// returns the bundle's bytes and digest.
func Bomb(tb testing.TB, size int64) ([]byte, string) {
	tb.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		tb.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
		tb.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(chunk)) {
		if _, err := tw.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := errors.Join(tw.Close(), zw.Close()); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), rootfs.DigestPrefix + hex.EncodeToString(sum[:])
}
