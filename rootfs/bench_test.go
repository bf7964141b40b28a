package rootfs_test

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gleaner-project/gleaner/rootfs"
	"github.com/gleaner-project/gleaner/rootfs/rootfstest"
)

// BenchmarkBuild measures bundle build throughput (MB of input per second)
// on a busybox tree plus 32 MiB of mixed files (half random, half text), and
// checks determinism: every iteration must produce the same digest.
func BenchmarkBuild(b *testing.B) {
	dir := b.TempDir()
	tree := rootfstest.Tree(b, filepath.Join(dir, "tree"), nil)
	data := filepath.Join(tree, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < 32; i++ {
		if i%2 == 0 {
			_, _ = rand.Read(buf)
		} else {
			for j := range buf {
				buf[j] = "gleaner batch scheduling on idle capacity\n"[j%42]
			}
		}
		if err := os.WriteFile(filepath.Join(data, "f"+strconv.Itoa(i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var first string
	var in int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := rootfs.Build(context.Background(), rootfs.BuildOptions{Base: tree}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if first == "" {
			first = res.Digest
		} else if res.Digest != first {
			b.Fatalf("non-deterministic build: %s vs %s", res.Digest, first)
		}
		in = res.Manifest.Bytes
	}
	b.SetBytes(in)
	b.ReportMetric(float64(in)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
	b.ReportMetric(1, "deterministic")
}
