package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// BenchmarkQueueItems measures Next+Done round trips per second with 8
// workers on an embedded etcd (fsync on).
func BenchmarkQueueItems(b *testing.B) {
	srv := etcdtest.Start(b)
	q := New(etcdtest.NewClient(b, srv), "/bench/", 0)
	ctx := context.Background()
	if _, err := q.Add(ctx, "j", items(b.N)); err != nil {
		b.Fatal(err)
	}
	const workers = 8
	toks := make([]string, workers)
	for i := range toks {
		var err error
		if toks[i], err = q.Register(ctx, "j", fmt.Sprintf("j.w.%d.0", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, tok := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it, st, err := q.Next(ctx, "j", tok)
				if err != nil {
					b.Error(err)
					return
				}
				if st != Handed {
					return
				}
				if err := q.Done(ctx, "j", tok, it.ID); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "items/s")
}
