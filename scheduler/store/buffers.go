package store

import (
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// Every process that stores in etcd through this package gets gRPC's
// buffers (marshalled requests, received messages) from tiers of every
// power of two from 32 KiB to 1 MiB. gRPC's default pool has no tier
// between 32 KiB and 1 MiB, so each transaction of a few dozen records
// (MaxOpsPerTxn puts, 40-60 KB marshalled) took a 1 MiB buffer, and the
// pool kept one for each transaction in flight at once: about 10 MiB of
// the scheduler's live heap at the peak of a 200,000-instance job. gRPC
// takes its default pool from an init function only, and the process's
// last such call wins; no other package of Gleaner's makes one.
func init() { experimental.SetDefaultBufferPool(bufferPool) }

var bufferPool = func() mem.BufferPool {
	p, err := mem.NewBinaryTieredBufferPool(8, 12, 14, 15, 16, 17, 18, 19, 20)
	if err != nil {
		panic(err)
	}
	return p
}()
