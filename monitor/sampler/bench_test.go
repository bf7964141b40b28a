package sampler

import (
	"context"
	"testing"
)

// BenchmarkSample is the cost of one full sample on this host (procfs,
// cgroups, process scan); pct-core-at-1s is that cost as a share of one
// core when sampling every second.
func BenchmarkSample(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := s.Sample(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := s.Sample(ctx); err != nil {
			b.Fatal(err)
		}
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e7, "pct-core-at-1s")
}

// BenchmarkFastCPU is the cost of the cheap between-samples reading.
func BenchmarkFastCPU(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, _, _, err := s.CPU(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
