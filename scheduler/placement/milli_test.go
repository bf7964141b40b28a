package placement_test

import (
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// fitEdges are amounts at the edges of Mesos' fixed point (thousandths):
// float sums that miss by far less than a thousandth fit, half a
// thousandth rounds away from zero, a whole thousandth short does not fit.
var fitEdges = []struct {
	name       string
	have, want float64
	fits       bool
}{
	{"equal", 1, 1, true},
	{"float sum just under", 0.1 + 0.2, 0.3, true},
	{"float sum just over", 0.3, 0.1 + 0.2, true},
	{"three tenths taken away leave zero, zero fits", 0.3 - 0.1 - 0.1 - 0.1, 0, true},
	{"a thousandth short", 0.999, 1, false},
	{"under half a thousandth short", 0.9996, 1, true},
	{"half a thousandth rounds up", 0.0005, 0.001, true},
	{"just under half a thousandth rounds down", 0.00049, 0.001, false},
	{"large memory, a thousandth short", 1048576 - 0.001, 1048576, false},
	{"large memory, float noise", 1048576.0000000002, 1048576, true},
	{"nothing wanted of nothing", 0, 0, true},
}

// TestOneFitRule: placement's Covers, the engine's Fits and the Carver
// (the LAUNCH's resources) agree at every edge.
func TestOneFitRule(t *testing.T) {
	for _, tc := range fitEdges {
		t.Run(tc.name, func(t *testing.T) {
			have := placement.Resources{CPUs: tc.have, Mem: 64}
			want := placement.Resources{CPUs: tc.want, Mem: 64}
			if got := have.Covers(want); got != tc.fits {
				t.Errorf("Covers = %v, want %v", got, tc.fits)
			}
			if got := engine.Fits(job.Resources(want), job.Resources(have)); got != tc.fits {
				t.Errorf("engine.Fits = %v, want %v", got, tc.fits)
			}
			if got := placement.AtLeast(tc.have, tc.want); got != tc.fits {
				t.Errorf("AtLeast = %v, want %v", got, tc.fits)
			}
			o := &mesos.Offer{ID: mesos.OfferID{Value: "o"}, Resources: []mesos.Resource{
				{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: tc.have}},
				{Name: "mem", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 64}},
			}}
			_, err := placement.NewCarver(o, "batch").Take(placement.Resources{}, want)
			if carved := err == nil; carved != tc.fits {
				t.Errorf("Carver.Take carved = %v (%v), want %v", carved, err, tc.fits)
			}
		})
	}
}
