package sampler

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePSISome(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    uint64
		wantErr string
	}{
		{"some avg10=1.00 avg60=0.50 avg300=0.10 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99\n", 123456, ""},
		{"full avg10=0.00 avg60=0.00 avg300=0.00 total=99\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=7", 7, ""},
		{"some avg10=0.00 total=12x", 0, "psi total"},
		{"some avg10=0.00", 0, "no \"some"},
		{"", 0, "no \"some"},
		{"full avg10=0 total=5\n", 0, "no \"some"},
	} {
		got, err := ParsePSISome([]byte(c.in))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParsePSISome(%q) = %v, %v; want an error with %q", c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParsePSISome(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func FuzzParsePSISome(f *testing.F) {
	f.Add([]byte("some avg10=1.00 avg60=0.50 avg300=0.10 total=123456\nfull avg10=0.00 total=0\n"))
	f.Add([]byte("some total="))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxPSIFile {
			b = b[:maxPSIFile]
		}
		_, _ = ParsePSISome(b)
	})
}

// Pressure is the stalled share of the interval, from PSI totals in µs.
func TestComputePressure(t *testing.T) {
	t0 := time.Unix(1000, 0)
	prev := Counters{Time: t0, NumCPU: 2, HostTotal: 100, MemTotal: 1 << 30, CPUSome: 1_000_000, MemSome: 500, PressureFound: true}
	cur := prev
	cur.Time, cur.HostTotal = t0.Add(2*time.Second), 104
	cur.CPUSome += 500_000 // 0.5 s of 2 s
	cur.MemSome += 200_000 // 0.2 s of 2 s
	s := Compute(prev, cur)
	if math.Abs(s.CPUPressure-0.25) > 1e-9 || math.Abs(s.MemPressure-0.1) > 1e-9 {
		t.Errorf("pressure cpu %v mem %v, want 0.25 and 0.1", s.CPUPressure, s.MemPressure)
	}
	cur.PressureFound = false
	if s := Compute(prev, cur); s.CPUPressure != 0 || s.MemPressure != 0 {
		t.Errorf("without PSI: pressure %v %v, want 0", s.CPUPressure, s.MemPressure)
	}
}

// The sampler reads <proc>/pressure/{cpu,memory} when they are there.
func TestReadPressureFiles(t *testing.T) {
	cfg := fixture(t, "v1-t0")
	proc := t.TempDir()
	// copy the fixture's proc files we need, then add pressure files
	for _, f := range []string{"stat", "meminfo"} {
		b, err := os.ReadFile(filepath.Join(cfg.ProcRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg.ProcRoot = proc
	c := read(t, cfg)
	if c.PressureFound {
		t.Fatal("pressure found without pressure files")
	}
	if err := os.MkdirAll(filepath.Join(proc, "pressure"), 0o755); err != nil {
		t.Fatal(err)
	}
	for f, total := range map[string]string{"cpu": "42", "memory": "7"} {
		line := "some avg10=0.00 avg60=0.00 avg300=0.00 total=" + total + "\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
		if err := os.WriteFile(filepath.Join(proc, "pressure", f), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err = s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !c.PressureFound || c.CPUSome != 42 || c.MemSome != 7 {
		t.Errorf("pressure %v cpu %d mem %d, want found 42 7", c.PressureFound, c.CPUSome, c.MemSome)
	}
}
