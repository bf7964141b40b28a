package policy

import (
	"errors"
	"fmt"
	"math"
)

// Resources is an amount of CPU (in cpus, i.e. cores) and memory (in MB, the
// unit Mesos uses for "mem").
type Resources struct {
	CPUs  float64 `json:"cpus"`
	MemMB float64 `json:"mem_mb"`
}

// Rule holds the policy knobs of one resource.
type Rule struct {
	// MarginFraction is the safety margin kept free, as a fraction of capacity.
	MarginFraction float64
	// SystemReserve is kept for the OS, the agent and the monitor (cpus or MB).
	SystemReserve float64
	// Min and Max clamp the allowance; Max 0 means no bound but capacity.
	Min, Max float64
	// Step: the target follows the allowance at once when they differ by at
	// least Step ...
	Step float64
	// ... or when a smaller difference in the same direction has persisted
	// for Persist samples.
	Persist int
}

// Params are the policy knobs. DefaultParams documents the defaults.
type Params struct {
	CPU Rule
	Mem Rule
	// PeakWindow is how many samples the business peak is held: a rise
	// counts at once, a fall only once it has lasted the whole window.
	PeakWindow int
	// ThrottleTolerance (cpus) is how far batch CPU use may exceed what
	// business leaves it before the batch cgroups are throttled.
	ThrottleTolerance float64
	// MinThrottleCPUs is the lowest CPU cap given to the batch cgroups.
	MinThrottleCPUs float64
	// LiftAfter is how many consecutive samples the allowance must cover the
	// batch demand seen under the throttle before the throttle is lifted.
	LiftAfter int
	// EvictAfter is how many samples a CPU spike may keep batch throttled
	// below its allocation before evictions are requested.
	EvictAfter int
	// BatchIdle: the batch cgroups run SCHED_IDLE (cpu.idle, else minimal
	// shares), so batch only ever takes CPU business does not want. Batch
	// using what business leaves is then no contention; the throttle
	// engages only when business alone reaches capacity − margin (a spike
	// where even idle-class batch costs business its caches and wake-ups),
	// and lifts once that has passed for LiftAfter samples.
	BatchIdle bool
	// MemPressureLimit is the share of time (PSI memory "some", 0..1) tasks
	// may stall on memory while batch holds memory before batch memory is
	// reclaimed: half of it, at least what business leaves it, is asked
	// for through an eviction. 0 turns the pressure signal off.
	MemPressureLimit float64
	// LatencySLOMs is the business latency objective (ms) a probe's
	// readings are held to, Heracles-style: a reading above it halves the
	// batch CPU cap at once (at least MinThrottleCPUs); each reading below
	// SLOLiftFraction of it raises the cap by SLOStepFraction of capacity
	// until the cap no longer binds. 0 turns the latency feedback off.
	LatencySLOMs float64
}

// The latency feedback's increase: a reading under this share of the SLO
// raises the cap by this share of capacity.
const (
	SLOLiftFraction = 0.8
	SLOStepFraction = 0.1
)

// DefaultParams returns the defaults documented in monitor/README.md.
func DefaultParams() Params {
	return Params{
		CPU:               Rule{MarginFraction: 0.10, SystemReserve: 0.5, Min: 0, Max: 0, Step: 0.5, Persist: 5},
		Mem:               Rule{MarginFraction: 0.10, SystemReserve: 1024, Min: 0, Max: 0, Step: 256, Persist: 5},
		PeakWindow:        60,
		ThrottleTolerance: 0.1,
		MinThrottleCPUs:   0.1,
		LiftAfter:         3,
		EvictAfter:        30,
		BatchIdle:         true,
		MemPressureLimit:  0.10,
	}
}

// Validate reports the first invalid knob by name.
func (p Params) Validate() error {
	for _, r := range []struct {
		name string
		r    Rule
	}{{"cpu", p.CPU}, {"mem", p.Mem}} {
		switch {
		case r.r.MarginFraction < 0 || r.r.MarginFraction >= 1:
			return fmt.Errorf("%s margin %v: must be in [0, 1)", r.name, r.r.MarginFraction)
		case r.r.SystemReserve < 0:
			return fmt.Errorf("%s system reserve %v: must not be negative", r.name, r.r.SystemReserve)
		case r.r.Min < 0:
			return fmt.Errorf("%s min %v: must not be negative", r.name, r.r.Min)
		case r.r.Max < 0 || (r.r.Max > 0 && r.r.Max < r.r.Min):
			return fmt.Errorf("%s max %v: must be 0 (unbounded) or at least min %v", r.name, r.r.Max, r.r.Min)
		case r.r.Step <= 0:
			return fmt.Errorf("%s step %v: must be positive", r.name, r.r.Step)
		case r.r.Persist < 1:
			return fmt.Errorf("%s persist %d: must be at least 1 sample", r.name, r.r.Persist)
		}
	}
	switch {
	case p.PeakWindow < 1:
		return fmt.Errorf("peak window %d: must be at least 1 sample", p.PeakWindow)
	case p.ThrottleTolerance < 0:
		return fmt.Errorf("throttle tolerance %v: must not be negative", p.ThrottleTolerance)
	case p.MinThrottleCPUs <= 0:
		return fmt.Errorf("min throttle cpus %v: must be positive", p.MinThrottleCPUs)
	case p.LiftAfter < 1:
		return fmt.Errorf("lift after %d: must be at least 1 sample", p.LiftAfter)
	case p.EvictAfter < 1:
		return fmt.Errorf("evict after %d: must be at least 1 sample", p.EvictAfter)
	case p.MemPressureLimit < 0 || p.MemPressureLimit > 1 || math.IsNaN(p.MemPressureLimit):
		return fmt.Errorf("memory pressure limit %v: must be in [0, 1] (0: off)", p.MemPressureLimit)
	case p.LatencySLOMs < 0 || math.IsNaN(p.LatencySLOMs) || math.IsInf(p.LatencySLOMs, 0):
		return fmt.Errorf("latency slo %v ms: must be a positive number of ms (0: off)", p.LatencySLOMs)
	}
	return nil
}

// Input is one sample plus what the master says about the reservation.
type Input struct {
	Capacity Resources // the host
	Business Resources // in use by everything that is not batch
	Batch    Resources // in use by the batch cgroups and executors
	// ReservationKnown says Reserved and Allocated come from the master.
	ReservationKnown bool
	Reserved         Resources // dynamic reservation for the role now
	Allocated        Resources // of Reserved, in use by batch tasks
	// Limit caps the allowance (the agent's total resources); 0 = none.
	Limit Resources
	// EvictionPending: an earlier eviction request is still outstanding.
	EvictionPending bool
	// MemPressure is the share of the interval some task stalled on
	// memory (PSI /proc/pressure/memory "some"; 0 when unknown).
	MemPressure float64
	// LatencyMs is the business probe's worst latency since the last
	// sample (ms; 0 when there was no reading).
	LatencyMs float64
}

// Eviction asks the scheduler to free this much batch work on the host.
type Eviction struct {
	CPUs   float64
	MemMB  float64
	Reason string
}

// Decision is what the monitor should do after one sample.
type Decision struct {
	// Allowance is what batch may use (peak-held business, clamped).
	Allowance Resources
	// Target is the reservation to hold (Allowance after hysteresis).
	Target Resources
	// Throttle caps the batch cgroups at ThrottleCPUs; false lifts the cap.
	Throttle     bool
	ThrottleCPUs float64
	// Evict is non-nil when evictions must be requested.
	Evict *Eviction
	// Contention: batch used more CPU than business left it this sample.
	Contention bool
	// MemoryShort: batch memory exceeds what business leaves it, or the
	// host stalls on memory while batch holds some.
	MemoryShort bool
	// SLOViolated: the probe's latency exceeded Params.LatencySLOMs.
	SLOViolated bool
	// BatchMemLimitMB is what business leaves batch in memory now
	// (capacity − margin − business − reserve, at least 0): the batch
	// cgroups' soft limit / memory.high, so the kernel reclaims batch
	// memory before business swaps and before an eviction lands.
	BatchMemLimitMB float64
}

// Controller carries the state between samples (peak windows, hysteresis,
// throttle). Step is deterministic and does no I/O.
type Controller struct {
	p                Params
	cpuPeak, memPeak peak
	target           Resources
	haveTarget       bool
	cpuPend, memPend pending
	throttled        bool
	demand           float64 // batch CPU demand seen since the throttle
	calm             int     // samples the allowance has covered demand
	spike            int     // samples throttled since the throttle or the last eviction
	lastAllowance    float64 // cpus, from the last Step (0 before)
	sloCap           float64 // cpus batch may use under the latency feedback (0: none)
}

// New returns a Controller; p must be valid.
func New(p Params) (*Controller, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("policy params: %w", err)
	}
	return &Controller{p: p, cpuPeak: newPeak(p.PeakWindow), memPeak: newPeak(p.PeakWindow)}, nil
}

// ErrBadInput is returned for measurements that cannot be right.
var ErrBadInput = errors.New("bad policy input")

// Reset forgets the reservation target so the next Step starts again from
// the master's reservation (after a reconnect or an error).
func (c *Controller) Reset() { c.haveTarget = false; c.cpuPend = pending{}; c.memPend = pending{} }

// Step feeds one sample and returns the decision.
func (c *Controller) Step(in Input) (Decision, error) {
	if in.Capacity.CPUs <= 0 || in.Capacity.MemMB <= 0 {
		return Decision{}, fmt.Errorf("%w: capacity %+v must be positive", ErrBadInput, in.Capacity)
	}
	bus := Resources{CPUs: math.Max(in.Business.CPUs, 0), MemMB: math.Max(in.Business.MemMB, 0)}
	batch := Resources{CPUs: math.Max(in.Batch.CPUs, 0), MemMB: math.Max(in.Batch.MemMB, 0)}
	busPeak := Resources{CPUs: c.cpuPeak.add(bus.CPUs), MemMB: c.memPeak.add(bus.MemMB)}

	var d Decision
	d.Allowance = Resources{
		CPUs:  allowance(c.p.CPU, in.Capacity.CPUs, busPeak.CPUs, in.Limit.CPUs),
		MemMB: allowance(c.p.Mem, in.Capacity.MemMB, busPeak.MemMB, in.Limit.MemMB),
	}

	// Reservation target with hysteresis, starting from the master's view.
	if !c.haveTarget {
		if in.ReservationKnown {
			c.target, c.haveTarget = in.Reserved, true
		} else {
			c.target = d.Allowance
		}
	}
	c.target.CPUs = c.cpuPend.next(c.target.CPUs, d.Allowance.CPUs, c.p.CPU)
	c.target.MemMB = c.memPend.next(c.target.MemMB, d.Allowance.MemMB, c.p.Mem)
	// Never hold more than the bounds allow, whatever the hysteresis says.
	c.target.CPUs = math.Min(c.target.CPUs, allowance(c.p.CPU, in.Capacity.CPUs, 0, in.Limit.CPUs))
	c.target.MemMB = math.Min(c.target.MemMB, allowance(c.p.Mem, in.Capacity.MemMB, 0, in.Limit.MemMB))
	d.Target = c.target

	// CPU is compressible: throttle the batch cgroups first.
	d.Contention = c.contended(in.Capacity.CPUs, bus.CPUs, batch.CPUs)
	c.lastAllowance = d.Allowance.CPUs
	quota := math.Max(d.Allowance.CPUs, c.p.MinThrottleCPUs)
	switch {
	case !c.throttled && d.Contention:
		c.throttled, c.demand, c.calm, c.spike = true, batch.CPUs, 0, 0
	case c.throttled:
		c.demand = math.Max(c.demand, batch.CPUs)
		calm := !d.Contention && d.Allowance.CPUs >= c.demand+c.p.ThrottleTolerance
		if c.p.BatchIdle {
			// Throttled idle batch uses little whatever business does:
			// calm is business back below its line.
			calm = !c.businessAtCeiling(in.Capacity.CPUs, bus.CPUs)
		}
		if calm {
			c.calm++
		} else {
			c.calm = 0
		}
		if c.calm >= c.p.LiftAfter {
			c.throttled, c.demand, c.calm, c.spike = false, 0, 0, 0
		}
	}
	d.SLOViolated = c.latency(in.Capacity.CPUs, batch.CPUs, in.LatencyMs)
	d.Throttle = c.throttled || c.sloCap > 0
	switch {
	case c.throttled && c.sloCap > 0:
		d.ThrottleCPUs = math.Min(quota, c.sloCap)
	case c.throttled:
		d.ThrottleCPUs = quota
	case c.sloCap > 0:
		d.ThrottleCPUs = c.sloCap
	}

	// Memory is not compressible: evict when batch holds what business needs.
	instantMem := math.Max(left(c.p.Mem, in.Capacity.MemMB, bus.MemMB), 0)
	d.BatchMemLimitMB = instantMem
	d.MemoryShort = batch.MemMB > instantMem
	var ev Eviction
	if d.MemoryShort {
		ev.MemMB = batch.MemMB - instantMem
		ev.Reason = fmt.Sprintf("memory short: business %.0f MB, batch %.0f MB, batch may use %.0f MB", bus.MemMB, batch.MemMB, instantMem)
	} else if c.p.MemPressureLimit > 0 && in.MemPressure > c.p.MemPressureLimit && batch.MemMB > 0 {
		// The host stalls on memory (reclaim, swap-in, refaults) though the
		// counters say it fits: free batch memory before business swaps.
		d.MemoryShort = true
		ev.MemMB = batch.MemMB / 2
		ev.Reason = fmt.Sprintf("memory pressure: tasks stalled %.0f%% of the time (limit %.0f%%), batch holds %.0f MB", in.MemPressure*100, c.p.MemPressureLimit*100, batch.MemMB)
	}
	// A CPU spike that keeps batch throttled below what it was allocated.
	if c.throttled {
		c.spike++
	} else {
		c.spike = 0
	}
	if c.spike >= c.p.EvictAfter && in.ReservationKnown && in.Allocated.CPUs > d.Allowance.CPUs+c.p.ThrottleTolerance {
		ev.CPUs = in.Allocated.CPUs - d.Allowance.CPUs
		r := fmt.Sprintf("cpu spike for %d samples: batch allocated %.2f cpus, may use %.2f", c.spike, in.Allocated.CPUs, d.Allowance.CPUs)
		if ev.Reason != "" {
			ev.Reason += "; " + r
		} else {
			ev.Reason = r
		}
	}
	if (ev.CPUs > 0 || ev.MemMB > 0) && !in.EvictionPending {
		d.Evict = &ev
		c.spike = 0
	}
	return d, nil
}

// Fast is the between-samples CPU check: from a cheaper, more frequent
// reading of host and batch CPU it engages the throttle at once when batch
// uses more than business leaves it, so the cap lands within a fraction of
// the sampling interval. It only engages (Step lifts and adjusts the cap)
// and returns whether it did and the cap: what business leaves batch now,
// no more than the last allowance, at least MinThrottleCPUs.
func (c *Controller) Fast(capacity, business, batch float64) (engage bool, cpus float64) {
	if c.throttled || capacity <= 0 {
		return false, 0
	}
	business = math.Max(business, 0)
	if !c.contended(capacity, business, math.Max(batch, 0)) {
		return false, 0
	}
	l := left(c.p.CPU, capacity, business)
	c.throttled, c.demand, c.calm, c.spike = true, batch, 0, 0
	q := l
	if c.lastAllowance > 0 {
		q = math.Min(q, c.lastAllowance)
	}
	if c.sloCap > 0 {
		q = math.Min(q, c.sloCap)
	}
	return true, math.Max(q, c.p.MinThrottleCPUs)
}

// latency runs the latency feedback (multiplicative decrease on a reading
// above the SLO, additive increase on one well below it) and reports a
// violation. No reading, or the feedback off, changes nothing.
func (c *Controller) latency(capacity, batch, latencyMs float64) bool {
	if c.p.LatencySLOMs <= 0 || latencyMs <= 0 {
		return false
	}
	switch {
	case latencyMs > c.p.LatencySLOMs:
		base := batch
		if c.sloCap > 0 {
			base = math.Min(base, c.sloCap)
		}
		c.sloCap = math.Max(base/2, c.p.MinThrottleCPUs)
		return true
	case c.sloCap > 0 && latencyMs < SLOLiftFraction*c.p.LatencySLOMs:
		c.sloCap += SLOStepFraction * capacity
		if c.sloCap >= capacity {
			c.sloCap = 0 // the cap no longer binds: lifted
		}
	}
	return false
}

// contended says whether batch CPU use hurts business now. Ordinary batch
// contends when it uses more than business leaves it (beyond the
// tolerance; when business alone exceeds its share, left is negative and
// any batch use beyond the tolerance contends). SCHED_IDLE batch only takes
// what business does not want, so it contends only when business alone
// reaches capacity − margin and batch still runs.
func (c *Controller) contended(capacity, business, batch float64) bool {
	if c.p.BatchIdle {
		return c.businessAtCeiling(capacity, business) && batch > c.p.ThrottleTolerance
	}
	return batch > math.Max(left(c.p.CPU, capacity, business), 0)+c.p.ThrottleTolerance
}

// businessAtCeiling: business alone uses capacity − margin or more.
func (c *Controller) businessAtCeiling(capacity, business float64) bool {
	return business >= capacity-margin(c.p.CPU, capacity)-1e-9
}

// margin is the safety margin of a rule for a capacity.
func margin(r Rule, capacity float64) float64 { return r.MarginFraction * capacity }

// upper is the most batch may ever get: capacity less margin and system
// reserve, and no more than Max and the agent's limit.
func upper(r Rule, capacity, limit float64) float64 {
	u := capacity - margin(r, capacity) - r.SystemReserve
	if r.Max > 0 {
		u = math.Min(u, r.Max)
	}
	if limit > 0 {
		u = math.Min(u, limit)
	}
	return math.Max(u, 0)
}

// left is what business leaves batch: capacity - margin - business - reserve.
func left(r Rule, capacity, business float64) float64 {
	return capacity - margin(r, capacity) - business - r.SystemReserve
}

// allowance = clamp(capacity - margin - business peak - system reserve,
// Min, min(Max, limit)), never above capacity nor below zero.
func allowance(r Rule, capacity, busPeak, limit float64) float64 {
	a := math.Min(left(r, capacity, busPeak), upper(r, capacity, limit))
	a = math.Max(a, r.Min)
	if limit > 0 {
		a = math.Min(a, limit)
	}
	return math.Max(math.Min(a, capacity), 0)
}

// peak holds the maximum of the last n values.
type peak struct {
	vals []float64
	next int
	full bool
}

func newPeak(n int) peak { return peak{vals: make([]float64, n)} }

// add records v and returns the maximum over the window.
func (p *peak) add(v float64) float64 {
	p.vals[p.next] = v
	p.next++
	if p.next == len(p.vals) {
		p.next, p.full = 0, true
	}
	n := p.next
	if p.full {
		n = len(p.vals)
	}
	m := p.vals[0]
	for _, x := range p.vals[1:n] {
		m = math.Max(m, x)
	}
	return m
}

// pending counts how long a small difference has persisted.
type pending struct {
	dir int
	n   int
}

// next returns the new target for one resource.
func (h *pending) next(target, allowance float64, r Rule) float64 {
	diff := allowance - target
	if math.Abs(diff) < 1e-9 {
		*h = pending{}
		return target
	}
	if math.Abs(diff) >= r.Step {
		*h = pending{}
		return allowance
	}
	dir := 1
	if diff < 0 {
		dir = -1
	}
	if h.dir != dir {
		*h = pending{dir: dir}
	}
	h.n++
	if h.n >= r.Persist {
		*h = pending{}
		return allowance
	}
	return target
}
