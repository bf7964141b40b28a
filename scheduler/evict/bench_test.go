package evict

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// BenchmarkChoose: victims among 500 instances on one host (mixed
// priorities and ages), freeing about half of what they hold.
func BenchmarkChoose(b *testing.B) {
	now := time.Now()
	cands := make([]Candidate, 500)
	for i := range cands {
		cands[i] = Candidate{TaskID: fmt.Sprintf("j%d.t.%d.0", i%7, i), Priority: (i * 37) % 5 * 100,
			Started: now.Add(-time.Duration(i*7919%3600) * time.Second), CPUs: 0.5, MemMB: 256}
	}
	need := Need{CPUs: 120, MemMB: 60000}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if len(Choose(cands, need, now)) == 0 {
			b.Fatal("no victims")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/choose")
}

// BenchmarkEvictionRequest: one request on embedded etcd carried out —
// read, victims chosen among 200 instances, recorded (fenced txn), killed,
// request deleted — as the leader does it.
func BenchmarkEvictionRequest(b *testing.B) {
	srv := etcdtest.Start(b)
	cli := etcdtest.NewClient(b, srv)
	ctx := context.Background()
	now := time.Now()
	tg := &fakeTarget{}
	for i := 0; i < 200; i++ {
		tg.instances = append(tg.instances, inst(fmt.Sprintf("j.t.%d.0", i), "h1", i%3, now.Add(-time.Duration(i)*time.Second), 0.5, 256))
	}
	kills := 0
	w := New(Config{Client: cli, Prefix: "/bench/", Target: tg, Kill: func(context.Context, map[string]string) { kills++ },
		Logger: slog.New(slog.DiscardHandler)})
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		tg.requeued = nil // every round chooses afresh
		putRequest(b, cli, "/bench/", Request{ID: fmt.Sprint("r", i), Hostname: "h1", MemMB: 1000})
		b.StartTimer()
		if err := w.Pass(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/request")
	if kills == 0 {
		b.Fatal("nothing killed")
	}
}
