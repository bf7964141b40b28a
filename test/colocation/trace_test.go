package colocation

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestTraceShape(t *testing.T) {
	tr := DiurnalTrace(100*time.Second, 1000)
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{
		{0, 150}, {50 * time.Second, 700}, {25 * time.Second, 425},
		{75 * time.Second, 900}, {79 * time.Second, 900}, {80 * time.Second, 0.15*1000 + 0.55*1000*(1-math.Cos(2*math.Pi*0.8))/2},
		{100 * time.Second, 0}, {-time.Second, 0},
	} {
		if got := tr.Rate(c.at); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("Rate(%v) = %v, want %v", c.at, got, c.want)
		}
	}
}

func TestTraceValidateNamesTheField(t *testing.T) {
	good := DiurnalTrace(time.Minute, 100)
	for _, c := range []struct {
		name string
		edit func(*Trace)
		want string
	}{
		{"duration", func(t *Trace) { t.Duration = 0 }, "duration"},
		{"low", func(t *Trace) { t.Low = 0 }, "low"},
		{"peak", func(t *Trace) { t.Peak = t.Low / 2 }, "peak"},
		{"spike", func(t *Trace) { t.SpikeAt = time.Hour }, "spike"},
	} {
		tr := good
		c.edit(&tr)
		err := tr.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

// The pacer schedules the trace's requests open-loop: at any instant the
// hits it lets through match the integral of the rate, whatever the caller's
// progress, and it stops at the end.
func TestPacerFollowsTheTrace(t *testing.T) {
	tr := Trace{Duration: 10 * time.Second, Low: 100, Peak: 100, Spike: 300, SpikeAt: 5 * time.Second, SpikeLength: time.Second}
	p := NewPacer(tr)
	if got, want := p.Total(), 100.0*9+300; math.Abs(got-want) > 1e-6 {
		t.Fatalf("Total = %v, want %v", got, want)
	}
	// Simulate: hit whenever the pacer says, count hits.
	var elapsed time.Duration
	var hits uint64
	for {
		wait, stop := p.Pace(elapsed, hits)
		if stop {
			break
		}
		elapsed += wait
		if elapsed >= tr.Duration {
			break
		}
		hits++
	}
	if math.Abs(float64(hits)-p.Total()) > 1 {
		t.Errorf("hits = %d, want ~%v", hits, p.Total())
	}
	// A caller that fell behind is told to send at once.
	if wait, stop := p.Pace(6*time.Second, 10); stop || wait != 0 {
		t.Errorf("behind: Pace = %v, %v; want 0, false", wait, stop)
	}
	// Ahead of schedule: wait until the next request is due (hit 501 at 5 s
	// + 1/300 s).
	if wait, _ := p.Pace(5*time.Second, 500); math.Abs(wait.Seconds()-1.0/300) > 1e-6 {
		t.Errorf("ahead: wait %v, want 1/300 s", wait)
	}
	if _, stop := p.Pace(10*time.Second, 0); !stop {
		t.Error("Pace after the end: not stopped")
	}
}
