package store

import (
	"testing"

	"google.golang.org/grpc/mem"
)

// A transaction of MaxOpsPerTxn records marshals to 40-60 KB: its buffer
// is the next power of two, not gRPC's default 1 MiB.
func TestBufferPoolSizesTransactions(t *testing.T) {
	if mem.DefaultBufferPool() != bufferPool {
		t.Fatal("gRPC's default buffer pool is not this package's")
	}
	for _, tc := range []struct{ length, want int }{
		{200, 256},
		{30_000, 32 << 10},
		{50_000, 64 << 10},
		{100_000, 128 << 10},
		{600_000, 1 << 20},
	} {
		b := bufferPool.Get(tc.length)
		if len(*b) != tc.length || cap(*b) != tc.want {
			t.Errorf("Get(%d): len %d cap %d, want cap %d", tc.length, len(*b), cap(*b), tc.want)
		}
		bufferPool.Put(b)
	}
}
