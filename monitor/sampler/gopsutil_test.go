package sampler

import (
	"context"
	"testing"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/mem"
)

// The sampler parses procfs in place on its per-second path (gopsutil's
// allocations there cost more than the monitor's budget of half a
// percent of a core); gopsutil, the project's host-metrics library, stays
// the reference it must agree with on the real host: the CPU count, the
// memory total, and idle CPU time between two gopsutil readings taken
// around it.
func TestHostReadingsAgreeWithGopsutil(t *testing.T) {
	ctx := context.Background()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	idle := func() float64 {
		ts, err := cpu.TimesWithContext(ctx, false)
		if err != nil || len(ts) != 1 {
			t.Fatalf("gopsutil cpu times: %v %v", ts, err)
		}
		return ts[0].Idle + ts[0].Iowait
	}
	before := idle()
	c, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := idle()
	const tick = 1.0 / clockTicks
	if c.HostIdle < before-tick || c.HostIdle > after+tick {
		t.Errorf("idle cpu seconds %.2f, gopsutil read %.2f before and %.2f after", c.HostIdle, before, after)
	}
	n, err := cpu.CountsWithContext(ctx, true)
	if err != nil || c.NumCPU != n {
		t.Errorf("cpus %d, gopsutil %d (%v)", c.NumCPU, n, err)
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil || c.MemTotal != vm.Total {
		t.Errorf("memory total %d, gopsutil %d (%v)", c.MemTotal, vm.Total, err)
	}
}
