package store

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// DialOptions are the gRPC dial options an etcd client of Gleaner's adds
// (clientv3.Config.DialOptions).
//
// Its buffers come from tiers of every power of two from 32 KiB to 1 MiB:
// gRPC's default pool has none between 32 KiB and 1 MiB, so each
// transaction of a few dozen records (MaxOpsPerTxn puts, 40-60 KB
// marshalled) took a 1 MiB buffer, and the pool kept as many as were in
// flight at once (about 11 MiB of the scheduler's live heap at the peak of
// a 200,000-instance job).
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{experimental.WithBufferPool(bufferPool)}
}

var bufferPool = func() mem.BufferPool {
	p, err := mem.NewBinaryTieredBufferPool(8, 12, 14, 15, 16, 17, 18, 19, 20)
	if err != nil {
		panic(err)
	}
	return p
}()
