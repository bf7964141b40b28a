package colocation

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Trace is a compressed diurnal load: from Low up to Peak and back to Low
// (a raised cosine) over Duration, with a Spike rate held for SpikeLength
// from SpikeAt. Rates are requests per second.
type Trace struct {
	Duration    time.Duration
	Low, Peak   float64
	Spike       float64
	SpikeAt     time.Duration
	SpikeLength time.Duration
}

// Validate names the first field that cannot be right.
func (t Trace) Validate() error {
	switch {
	case t.Duration <= 0:
		return fmt.Errorf("trace duration %v: must be positive", t.Duration)
	case t.Low <= 0 || math.IsNaN(t.Low):
		return fmt.Errorf("trace low rate %v: must be positive", t.Low)
	case t.Peak < t.Low:
		return fmt.Errorf("trace peak rate %v: must be at least the low rate %v", t.Peak, t.Low)
	case t.Spike < 0:
		return fmt.Errorf("trace spike rate %v: must not be negative", t.Spike)
	case t.SpikeAt < 0 || t.SpikeLength < 0 || t.SpikeAt+t.SpikeLength > t.Duration:
		return fmt.Errorf("trace spike [%v, +%v]: must lie within the duration %v", t.SpikeAt, t.SpikeLength, t.Duration)
	}
	return nil
}

// DiurnalTrace is the benchmark's trace for a service whose capacity alone
// is capacityRPS: 15% of it at the ends, 70% at the peak in the middle, and
// a spike to 90% for a twentieth of the run at three quarters.
func DiurnalTrace(d time.Duration, capacityRPS float64) Trace {
	return Trace{
		Duration: d, Low: 0.15 * capacityRPS, Peak: 0.70 * capacityRPS,
		Spike: 0.90 * capacityRPS, SpikeAt: d * 3 / 4, SpikeLength: d / 20,
	}
}

// Rate is the offered rate at elapsed time e (0 after the end).
func (t Trace) Rate(e time.Duration) float64 {
	if e < 0 || e >= t.Duration {
		return 0
	}
	if t.SpikeLength > 0 && e >= t.SpikeAt && e < t.SpikeAt+t.SpikeLength {
		return t.Spike
	}
	x := float64(e) / float64(t.Duration)
	return t.Low + (t.Peak-t.Low)*(1-math.Cos(2*math.Pi*x))/2
}

// paceStep is the resolution of the pacer: the rate is held constant over
// each step, so the expected hits are piecewise linear.
const paceStep = 100 * time.Millisecond

// Pacer paces vegeta's open-loop attack along a Trace (it satisfies
// vegeta.Pacer): requests are sent at their scheduled times whatever the
// latency of earlier ones, so a slow service cannot hide its tail.
type Pacer struct {
	trace Trace
	cum   []float64 // cum[i]: requests scheduled before step i
}

// NewPacer precomputes the trace's schedule.
func NewPacer(t Trace) *Pacer {
	n := int((t.Duration + paceStep - 1) / paceStep)
	p := &Pacer{trace: t, cum: make([]float64, n+1)}
	for i := 0; i < n; i++ {
		s := time.Duration(i) * paceStep
		p.cum[i+1] = p.cum[i] + t.Rate(s)*(min(s+paceStep, t.Duration)-s).Seconds()
	}
	return p
}

// Pace says how long to wait before the next hit, given the time elapsed
// and the hits sent so far; stop once the trace ends.
func (p *Pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if elapsed >= p.trace.Duration {
		return 0, true
	}
	if float64(hits) < p.hitsBy(elapsed) {
		return 0, false // behind: send at once
	}
	at, ok := p.timeOfHit(float64(hits) + 1)
	if !ok {
		return 0, true
	}
	return max(at-elapsed, 0), false
}

// Rate is the current rate (vegeta's Pacer interface).
func (p *Pacer) Rate(elapsed time.Duration) float64 { return p.trace.Rate(elapsed) }

// Total is the number of requests of the whole trace.
func (p *Pacer) Total() float64 { return p.cum[len(p.cum)-1] }

// hitsBy is how many requests the trace schedules before e.
func (p *Pacer) hitsBy(e time.Duration) float64 {
	if e >= p.trace.Duration {
		return p.Total()
	}
	i := int(e / paceStep)
	return p.cum[i] + p.trace.Rate(e)*(e-time.Duration(i)*paceStep).Seconds()
}

// timeOfHit is when the trace's n-th request is due (false: after the end).
func (p *Pacer) timeOfHit(n float64) (time.Duration, bool) {
	if n > p.Total() {
		return 0, false
	}
	i := sort.SearchFloat64s(p.cum, n) // first step end with cum >= n
	if i == 0 {
		return 0, true
	}
	s := time.Duration(i-1) * paceStep
	r := p.trace.Rate(s)
	if r <= 0 {
		return s, true
	}
	return s + time.Duration((n-p.cum[i-1])/r*float64(time.Second)), true
}
