package policy

import (
	"math"
	"strings"
	"testing"
)

// host: 8 cpus, 16000 MB. With the test params below:
// cpu margin 0.8, reserve 0.5 → upper 6.7; mem margin 1600, reserve 1024 → upper 13376.
var host = Resources{CPUs: 8, MemMB: 16000}

func testParams() Params {
	p := DefaultParams()
	p.PeakWindow = 3
	p.CPU.Persist, p.Mem.Persist = 2, 2
	p.LiftAfter = 2
	p.EvictAfter = 3
	// The table's cases exercise the usage rule (batch not SCHED_IDLE)
	// unless they set BatchIdle; the pressure signal only where set.
	p.BatchIdle = false
	p.MemPressureLimit = 0
	return p
}

func pressure(i Input, memSome float64) Input { i.MemPressure = memSome; return i }

type want struct {
	allowCPU, targetCPU float64 // NaN = do not check
	allowMem, targetMem float64
	throttle            *bool
	quota               float64 // checked when throttle is true
	evictCPU, evictMem  float64 // -1: no eviction expected; NaN: not checked
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
	nan = math.NaN()
)

func in(busCPU, batchCPU, busMem, batchMem float64) Input {
	return Input{
		Capacity: host,
		Business: Resources{CPUs: busCPU, MemMB: busMem},
		Batch:    Resources{CPUs: batchCPU, MemMB: batchMem},
	}
}

func known(i Input, reserved, allocated Resources) Input {
	i.ReservationKnown, i.Reserved, i.Allocated = true, reserved, allocated
	return i
}

func lat(i Input, ms float64) Input { i.LatencyMs = ms; return i }

func evPending(i Input) Input { i.EvictionPending = true; return i }

func limit(i Input, l Resources) Input { i.Limit = l; return i }

type step struct {
	in   Input
	want want
}

func chk() want {
	return want{allowCPU: nan, targetCPU: nan, allowMem: nan, targetMem: nan, evictCPU: nan, evictMem: nan}
}

func (w want) cpu(allow, target float64) want { w.allowCPU, w.targetCPU = allow, target; return w }
func (w want) mem(allow, target float64) want { w.allowMem, w.targetMem = allow, target; return w }
func (w want) thr(q float64) want             { w.throttle, w.quota = yes, q; return w }
func (w want) free() want                     { w.throttle = no; return w }
func (w want) evict(c, m float64) want        { w.evictCPU, w.evictMem = c, m; return w }
func (w want) noEvict() want                  { w.evictCPU, w.evictMem = -1, -1; return w }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestController(t *testing.T) {
	r57 := Resources{CPUs: 5.7, MemMB: 8000}
	alloc5 := Resources{CPUs: 5, MemMB: 4000}
	cases := []struct {
		name   string
		params func(*Params)
		steps  []step
	}{
		{
			name: "spike throttles at once and shrinks the target at once",
			steps: []step{
				{known(in(1, 5, 2000, 4000), r57, alloc5), chk().cpu(5.7, 5.7).free().noEvict()},
				// business jumps to 6: left = 8-0.8-6-0.5 = 0.7; batch 5 > 0.8
				{known(in(6, 5, 2000, 4000), r57, alloc5), chk().cpu(0.7, 0.7).thr(0.7).noEvict()},
				// under the throttle batch uses 0.7: still throttled (demand 5)
				{known(in(6, 0.7, 2000, 4000), r57, alloc5), chk().cpu(0.7, 0.7).thr(0.7)},
			},
		},
		{
			name: "spike ends: throttle lifted after the peak window and LiftAfter, target grows back",
			steps: []step{
				{known(in(1, 5, 2000, 4000), r57, alloc5), chk().free()},
				{known(in(6, 5, 2000, 4000), r57, alloc5), chk().thr(0.7)},
				{known(in(1, 0.7, 2000, 4000), r57, alloc5), chk().cpu(0.7, 0.7).thr(0.7)}, // peak 6 held
				{known(in(1, 0.7, 2000, 4000), r57, alloc5), chk().cpu(0.7, 0.7).thr(0.7)},
				// window of 3 no longer holds the 6: allowance 5.7 >= demand 5 + 0.1 → calm 1
				{known(in(1, 0.7, 2000, 4000), r57, alloc5), chk().cpu(5.7, 5.7).thr(5.7)},
				{known(in(1, 0.7, 2000, 4000), r57, alloc5), chk().cpu(5.7, 5.7).free()},
			},
		},
		{
			name:   "latency feedback: a reading above the SLO halves the cap, readings well below raise it by a tenth of capacity until it is lifted",
			params: func(p *Params) { p.BatchIdle = true; p.LatencySLOMs = 10 },
			steps: []step{
				{lat(known(in(1, 5, 2000, 4000), r57, alloc5), 5), chk().free().noEvict()},
				// 20 ms > 10: half of what batch uses now
				{lat(known(in(1, 5, 2000, 4000), r57, alloc5), 20), chk().cpu(5.7, 5.7).thr(2.5).noEvict()},
				// still above: half of the cap (batch uses 2.5)
				{lat(known(in(1, 2.5, 2000, 4000), r57, alloc5), 12), chk().thr(1.25)},
				// between 0.8 × SLO and the SLO: held; no reading: held
				{lat(known(in(1, 1.25, 2000, 4000), r57, alloc5), 9), chk().thr(1.25)},
				{known(in(1, 1.25, 2000, 4000), r57, alloc5), chk().thr(1.25)},
				// well below: + 0.8 cpus a sample
				{lat(known(in(1, 1.25, 2000, 4000), r57, alloc5), 5), chk().thr(2.05)},
				{lat(known(in(1, 2, 2000, 4000), r57, alloc5), 5), chk().thr(2.85)},
				{lat(known(in(1, 2, 2000, 4000), r57, alloc5), 5), chk().thr(3.65)},
				{lat(known(in(1, 2, 2000, 4000), r57, alloc5), 5), chk().thr(4.45)},
				{lat(known(in(1, 2, 2000, 4000), r57, alloc5), 5), chk().thr(5.25)},
				{lat(known(in(1, 2, 2000, 4000), r57, alloc5), 5), chk().thr(6.05)},
				{lat(known(in(1, 2, 2000, 4000), r57, alloc5), 5), chk().thr(6.85)},
				{lat(known(in(1, 2, 2000, 4000), r57, alloc5), 5), chk().thr(7.65)},
				// 8.45 ≥ capacity 8: the cap no longer binds and is lifted
				{lat(known(in(1, 2, 2000, 4000), r57, alloc5), 5), chk().free()},
			},
		},
		{
			name:   "latency feedback and the spike throttle together: the lower cap holds",
			params: func(p *Params) { p.BatchIdle = true; p.LatencySLOMs = 10 },
			steps: []step{
				// SLO cap 0.4 (half of 0.8), spike cap min 0.1: 0.1
				{lat(known(in(7.2, 0.8, 2000, 4000), r57, alloc5), 50), chk().thr(0.1)},
				// spike over (lifted after 2 calm samples), SLO cap 0.4 + 0.8 stays
				{lat(known(in(3, 0.1, 2000, 4000), r57, alloc5), 9), chk().thr(0.1)},
				{lat(known(in(3, 0.1, 2000, 4000), r57, alloc5), 9), chk().thr(0.4)},
			},
		},
		{
			name:   "latency feedback off: a slow reading does nothing",
			params: func(p *Params) { p.BatchIdle = true },
			steps: []step{
				{lat(known(in(1, 5, 2000, 4000), r57, alloc5), 500), chk().free()},
			},
		},
		{
			name:   "idle batch filling what business leaves is no contention",
			params: func(p *Params) { p.BatchIdle = true },
			steps: []step{
				// business 6 of 8, batch soaks the other 2: under the usage
				// rule this throttles; SCHED_IDLE batch yields by itself.
				{known(in(6, 2, 2000, 4000), r57, alloc5), chk().cpu(0.7, 0.7).free().noEvict()},
				{known(in(7.1, 0.9, 2000, 4000), r57, alloc5), chk().free()},
			},
		},
		{
			name:   "idle batch is throttled when business alone reaches capacity − margin, lifted once it passed",
			params: func(p *Params) { p.BatchIdle = true },
			steps: []step{
				{known(in(1, 5, 2000, 4000), r57, alloc5), chk().free()},
				// 7.2 = 8 − 0.8: the spike; batch still runs 0.8 → cap at min 0.1
				{known(in(7.2, 0.8, 2000, 4000), r57, alloc5), chk().cpu(0, 0).thr(0.1).noEvict()},
				{known(in(7.5, 0.1, 2000, 4000), r57, alloc5), chk().thr(0.1)},
				// below the line: lifted after LiftAfter (2) calm samples,
				// whatever the peak-held allowance says
				{known(in(3, 0.1, 2000, 4000), r57, alloc5), chk().cpu(0, 0).thr(0.1)},
				{known(in(3, 0.1, 2000, 4000), r57, alloc5), chk().free()},
			},
		},
		{
			name:   "idle batch under a long spike still asks to evict the allocation above the allowance",
			params: func(p *Params) { p.BatchIdle = true },
			steps: []step{
				{known(in(7.5, 0.5, 2000, 4000), r57, alloc5), chk().thr(0.1).noEvict()},
				{known(in(7.5, 0.1, 2000, 4000), r57, alloc5), chk().thr(0.1).noEvict()},
				{known(in(7.5, 0.1, 2000, 4000), r57, alloc5), chk().thr(0.1).evict(5, 0)},
			},
		},
		{
			name:   "memory pressure while batch holds memory reclaims half of it",
			params: func(p *Params) { p.MemPressureLimit = 0.1 },
			steps: []step{
				{pressure(known(in(1, 1, 2000, 4000), r57, alloc5), 0.05), chk().noEvict()},
				{pressure(known(in(1, 1, 2000, 4000), r57, alloc5), 0.25), chk().evict(0, 2000)},
				// no batch memory: nothing to reclaim
				{pressure(known(in(1, 1, 2000, 0), r57, alloc5), 0.5), chk().noEvict()},
			},
		},
		{
			name: "memory pressure is ignored when the signal is off",
			steps: []step{
				{pressure(known(in(1, 1, 2000, 4000), r57, alloc5), 0.9), chk().noEvict()},
			},
		},
		{
			name: "brief dip does not hand out capacity",
			steps: []step{
				{known(in(4, 1, 2000, 1000), Resources{CPUs: 2.7, MemMB: 8000}, Resources{}), chk().cpu(2.7, 2.7)},
				{known(in(4, 1, 2000, 1000), Resources{CPUs: 2.7, MemMB: 8000}, Resources{}), chk().cpu(2.7, 2.7)},
				{known(in(0.5, 1, 2000, 1000), Resources{CPUs: 2.7, MemMB: 8000}, Resources{}), chk().cpu(2.7, 2.7)},
				{known(in(4, 1, 2000, 1000), Resources{CPUs: 2.7, MemMB: 8000}, Resources{}), chk().cpu(2.7, 2.7)},
				{known(in(4, 1, 2000, 1000), Resources{CPUs: 2.7, MemMB: 8000}, Resources{}), chk().cpu(2.7, 2.7).free()},
			},
		},
		{
			name: "slow ramp: small changes wait Persist samples, a big one goes at once",
			steps: []step{
				{known(in(1, 0, 2000, 0), r57, Resources{}), chk().cpu(5.7, 5.7)},
				{known(in(1.2, 0, 2000, 0), r57, Resources{}), chk().cpu(5.5, 5.7)}, // 0.2 < step, 1st
				{known(in(1.3, 0, 2000, 0), r57, Resources{}), chk().cpu(5.4, 5.4)}, // persisted 2
				{known(in(1.4, 0, 2000, 0), r57, Resources{}), chk().cpu(5.3, 5.4)},
				{known(in(2.0, 0, 2000, 0), r57, Resources{}), chk().cpu(4.7, 4.7)}, // 0.7 >= step
			},
		},
		{
			name: "restarted monitor starts from the master's reservation and converges",
			steps: []step{
				{known(in(1, 0, 2000, 0), Resources{CPUs: 5.5, MemMB: 8000}, Resources{}), chk().cpu(5.7, 5.5)},
				{known(in(1, 0, 2000, 0), Resources{CPUs: 5.5, MemMB: 8000}, Resources{}), chk().cpu(5.7, 5.7)},
			},
		},
		{
			name: "memory pressure asks for evictions of what is short, once while pending",
			steps: []step{
				// left = 16000-1600-12000-1024 = 1376; batch 4000 → short 2624
				{known(in(1, 1, 12000, 4000), r57, alloc5), chk().mem(1376, 1376).evict(0, 2624)},
				{evPending(known(in(1, 1, 12000, 4000), r57, alloc5)), chk().noEvict()},
				{known(in(1, 1, 12000, 1000), r57, alloc5), chk().noEvict()},
			},
		},
		{
			name: "business memory above capacity: evict all batch memory, allowance 0",
			steps: []step{
				{known(in(1, 1, 15500, 1000), r57, alloc5), chk().mem(0, 0).evict(0, 1000)},
			},
		},
		{
			name: "persistent cpu spike asks to evict the allocation above the allowance",
			steps: []step{
				{known(in(6, 5, 2000, 1000), r57, alloc5), chk().thr(0.7).noEvict()},
				{known(in(6, 0.7, 2000, 1000), r57, alloc5), chk().thr(0.7).noEvict()},
				{known(in(6, 0.7, 2000, 1000), r57, alloc5), chk().thr(0.7).evict(4.3, 0)},
				{known(in(6, 0.7, 2000, 1000), r57, alloc5), chk().thr(0.7).noEvict()},
			},
		},
		{
			name:   "bounds: max, agent limit, min",
			params: func(p *Params) { p.CPU.Max = 4; p.Mem.Min = 512 },
			steps: []step{
				{in(0, 0, 0, 0), chk().cpu(4, 4).mem(13376, 13376)},
				{limit(in(0, 0, 0, 0), Resources{CPUs: 3, MemMB: 6000}), chk().cpu(3, 3).mem(6000, 6000)},
				{limit(in(7.9, 0, 15999, 0), Resources{CPUs: 3, MemMB: 6000}), chk().cpu(0, 0).mem(512, 512)},
			},
		},
		{
			name:   "min never exceeds capacity",
			params: func(p *Params) { p.CPU.Min = 100 },
			steps:  []step{{in(1, 0, 0, 0), chk().cpu(8, 8)}},
		},
		{
			name: "business alone over capacity: idle batch is not throttled, busy batch is",
			steps: []step{
				{in(7.9, 0.05, 0, 0), chk().cpu(0, 0).free()},
				{in(7.9, 0.5, 0, 0), chk().thr(0.1)},
			},
		},
		{
			name: "batch alone over its allowance is throttled to keep the margin",
			steps: []step{
				{in(0, 8, 0, 0), chk().cpu(6.7, 6.7).thr(6.7)},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testParams()
			if tc.params != nil {
				tc.params(&p)
			}
			c, err := New(p)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				d, err := c.Step(s.in)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				w := s.want
				check := func(name string, got, want float64) {
					if !math.IsNaN(want) && !near(got, want) {
						t.Errorf("step %d: %s = %v, want %v (decision %+v)", i, name, got, want, d)
					}
				}
				check("allowance cpus", d.Allowance.CPUs, w.allowCPU)
				check("target cpus", d.Target.CPUs, w.targetCPU)
				check("allowance mem", d.Allowance.MemMB, w.allowMem)
				check("target mem", d.Target.MemMB, w.targetMem)
				// What business leaves batch in memory now, never negative.
				check("batch memory limit", d.BatchMemLimitMB, math.Max(16000-1600-s.in.Business.MemMB-1024, 0))
				if w.throttle != nil && d.Throttle != *w.throttle {
					t.Errorf("step %d: throttle = %v, want %v (decision %+v)", i, d.Throttle, *w.throttle, d)
				}
				if w.throttle != nil && *w.throttle {
					check("throttle cpus", d.ThrottleCPUs, w.quota)
				}
				switch {
				case w.evictCPU == -1:
					if d.Evict != nil {
						t.Errorf("step %d: unexpected eviction %+v", i, *d.Evict)
					}
				case !math.IsNaN(w.evictCPU):
					if d.Evict == nil {
						t.Fatalf("step %d: no eviction, want cpus %v mem %v", i, w.evictCPU, w.evictMem)
					}
					check("evict cpus", d.Evict.CPUs, w.evictCPU)
					check("evict mem", d.Evict.MemMB, w.evictMem)
					if d.Evict.Reason == "" {
						t.Errorf("step %d: eviction without a reason", i)
					}
				}
			}
		})
	}
}

func TestResetFollowsMaster(t *testing.T) {
	c, err := New(testParams())
	if err != nil {
		t.Fatal(err)
	}
	d, _ := c.Step(known(in(1, 0, 2000, 0), Resources{CPUs: 5.6, MemMB: 8000}, Resources{}))
	if !near(d.Target.CPUs, 5.6) {
		t.Fatalf("target %v, want 5.6", d.Target.CPUs)
	}
	c.Reset()
	d, _ = c.Step(known(in(1, 0, 2000, 0), Resources{CPUs: 5.3, MemMB: 8000}, Resources{}))
	if !near(d.Target.CPUs, 5.3) {
		t.Fatalf("after reset target %v, want the master's 5.3", d.Target.CPUs)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		mut  func(*Params)
		want string
	}{
		{func(p *Params) {}, ""},
		{func(p *Params) { p.CPU.MarginFraction = 1 }, "cpu margin"},
		{func(p *Params) { p.Mem.SystemReserve = -1 }, "mem system reserve"},
		{func(p *Params) { p.CPU.Min = 2; p.CPU.Max = 1 }, "cpu max"},
		{func(p *Params) { p.Mem.Step = 0 }, "mem step"},
		{func(p *Params) { p.CPU.Persist = 0 }, "cpu persist"},
		{func(p *Params) { p.PeakWindow = 0 }, "peak window"},
		{func(p *Params) { p.MinThrottleCPUs = 0 }, "min throttle"},
		{func(p *Params) { p.LiftAfter = 0 }, "lift after"},
		{func(p *Params) { p.EvictAfter = 0 }, "evict after"},
		{func(p *Params) { p.MemPressureLimit = 1.5 }, "memory pressure limit"},
		{func(p *Params) { p.MemPressureLimit = -0.1 }, "memory pressure limit"},
		{func(p *Params) { p.LatencySLOMs = -1 }, "latency slo"},
		{func(p *Params) { p.LatencySLOMs = math.NaN() }, "latency slo"},
	}
	for _, tc := range cases {
		p := DefaultParams()
		tc.mut(&p)
		err := p.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("valid params rejected: %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", err, tc.want)
		}
	}
	if _, err := New(Params{}); err == nil {
		t.Error("New accepted zero params")
	}
	c, _ := New(DefaultParams())
	if _, err := c.Step(Input{}); err == nil {
		t.Error("Step accepted zero capacity")
	}
}

func TestFast(t *testing.T) {
	c, err := New(testParams())
	if err != nil {
		t.Fatal(err)
	}
	// Quiet: allowance 5.7; a fast reading with business 1 does nothing.
	if _, err := c.Step(known(in(1, 5, 2000, 1000), Resources{CPUs: 5.7, MemMB: 8000}, Resources{CPUs: 5})); err != nil {
		t.Fatal(err)
	}
	if on, _ := c.Fast(8, 1.5, 5); on {
		t.Fatal("fast check engaged without contention")
	}
	// Business jumps to 6 between samples: left 0.7 → engage at 0.7.
	on, q := c.Fast(8, 6, 5)
	if !on || !near(q, 0.7) {
		t.Fatalf("fast engage %v %v, want true 0.7", on, q)
	}
	if on, _ := c.Fast(8, 6, 5); on {
		t.Fatal("fast check engaged twice")
	}
	// The next Step keeps the throttle (demand 5, business peak 6).
	d, _ := c.Step(known(in(6, 0.7, 2000, 1000), Resources{CPUs: 5.7, MemMB: 8000}, Resources{CPUs: 5}))
	if !d.Throttle || !near(d.ThrottleCPUs, 0.7) {
		t.Fatalf("step after fast engage: %+v", d)
	}
	// Capped by the last allowance when business leaves more.
	c2, _ := New(testParams())
	c2.Step(in(5, 0, 0, 0)) // allowance 1.7
	if on, q := c2.Fast(8, 1, 6.5); !on || !near(q, 1.7) {
		t.Fatalf("fast engage %v %v, want true 1.7 (last allowance)", on, q)
	}
	// At least MinThrottleCPUs.
	c3, _ := New(testParams())
	if on, q := c3.Fast(8, 8, 1); !on || !near(q, 0.1) {
		t.Fatalf("fast engage %v %v, want true 0.1", on, q)
	}
	// SCHED_IDLE batch: only business at capacity − margin engages.
	ip := testParams()
	ip.BatchIdle = true
	c4, _ := New(ip)
	if on, _ := c4.Fast(8, 6, 2); on {
		t.Fatal("idle batch: fast check engaged while business leaves room")
	}
	if on, q := c4.Fast(8, 7.4, 0.6); !on || !near(q, 0.1) {
		t.Fatalf("idle batch: fast engage %v %v, want true 0.1", on, q)
	}
}
