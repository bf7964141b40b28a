package framework

import (
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestOverlayView(t *testing.T) {
	all := job.Resources{CPUs: 4, Mem: 4096}
	resv := job.Resources{CPUs: 1, Mem: 512}
	for _, c := range []struct {
		name          string
		etcd          map[string]string
		live, require bool
		wantAvail     job.Resources
		wantSilent    bool
		wantAttrs     map[string]string
	}{
		{"no monitor, not required: everything", nil, false, false, all, false, map[string]string{"zone": "a", "rack": "r1"}},
		{"no monitor, required: nothing", nil, false, true, all, true, map[string]string{"zone": "a", "rack": "r1"}},
		{"live monitor: the reservation only", nil, true, true, resv, false, map[string]string{"zone": "a", "rack": "r1"}},
		{"live monitor, not required: the reservation only", nil, true, false, resv, false, map[string]string{"zone": "a", "rack": "r1"}},
		{"etcd wins and adds", map[string]string{"zone": "b", "ssd": "yes"}, false, false, all, false, map[string]string{"zone": "b", "rack": "r1", "ssd": "yes"}},
	} {
		v := engine.Offer{Available: all, Reserved: resv, Attributes: map[string]string{"zone": "a", "rack": "r1"}}
		OverlayView(&v, c.etcd, c.live, c.require)
		if v.Available != c.wantAvail || v.MonitorSilent != c.wantSilent || len(v.Attributes) != len(c.wantAttrs) {
			t.Errorf("%s: %+v", c.name, v)
			continue
		}
		for k, want := range c.wantAttrs {
			if v.Attributes[k] != want {
				t.Errorf("%s: attrs %v, want %v", c.name, v.Attributes, c.wantAttrs)
			}
		}
	}
}

func TestPoolReserved(t *testing.T) {
	role := "batch"
	scalar := func(name string, v float64, reserved bool) mesos.Resource {
		r := mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
		if reserved {
			r.Reservations = []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: &role}}
		}
		return r
	}
	p := newPool([]mesos.Resource{scalar("cpus", 3, false), scalar("cpus", 1, true), scalar("mem", 512, true), scalar("mem", 1024, false)})
	if got, want := p.reserved(), (job.Resources{CPUs: 1, Mem: 512}); got != want {
		t.Fatalf("reserved = %+v, want %+v", got, want)
	}
	if got, want := p.available(), (job.Resources{CPUs: 4, Mem: 1536}); got != want {
		t.Fatalf("available = %+v, want %+v", got, want)
	}
}
