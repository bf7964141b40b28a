package placement

import (
	"maps"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func scalar(name string, v float64) mesos.Resource {
	t := mesos.SCALAR
	return mesos.Resource{Name: name, Type: &t, Scalar: &mesos.Value_Scalar{Value: v}}
}

func reserved(r mesos.Resource, roles ...string) mesos.Resource {
	for _, role := range roles {
		role := role
		r.Reservations = append(r.Reservations, mesos.Resource_ReservationInfo{Role: &role})
	}
	return r
}

func testOffer() mesos.Offer {
	star := "*"
	legacy := scalar("mem", 100)
	legacy.Role = &star
	rev := scalar("cpus", 8)
	rev.Revocable = &mesos.Resource_RevocableInfo{}
	vol := scalar("disk", 500)
	vol.Disk = &mesos.Resource_DiskInfo{Persistence: &mesos.Resource_DiskInfo_Persistence{ID: "v"}}
	return mesos.Offer{
		ID: mesos.OfferID{Value: "o1"}, AgentID: mesos.AgentID{Value: "a1"}, Hostname: "h1",
		Attributes: []mesos.Attribute{
			{Name: "zone", Type: mesos.TEXT, Text: &mesos.Value_Text{Value: "a"}},
			{Name: "level", Type: mesos.SCALAR, Scalar: &mesos.Value_Scalar{Value: 10}},
			{Name: "keys", Type: mesos.RANGES, Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: 1, End: 5}, {Begin: 9, End: 9}}}},
		},
		Resources: []mesos.Resource{
			scalar("cpus", 4), scalar("mem", 4096), legacy, scalar("disk", 1000), scalar("gpus", 1),
			reserved(scalar("cpus", 2), "batch"),
			reserved(scalar("mem", 1024), "batch"),
			reserved(scalar("cpus", 1), "batch", "batch/child"), // refined for a child: not ours
			reserved(scalar("cpus", 16), "other"),
			rev, vol,
			{Name: "ports", Ranges: &mesos.Value_Ranges{}},
		},
	}
}

func TestFromOffer(t *testing.T) {
	a := FromOffer(testOffer(), map[string]string{"zone": "b", "ssd": "true"}, "batch")
	if a.ID != "a1" || a.Hostname != "h1" {
		t.Fatalf("ids %+v", a)
	}
	want := map[string]string{"zone": "b", "ssd": "true", "level": "10", "keys": "[1-5,9-9]"}
	if !maps.Equal(a.Attrs, want) {
		t.Fatalf("attrs %v want %v", a.Attrs, want)
	}
	if a.Unreserved != (Resources{CPUs: 4, Mem: 4196, Disk: 1000, GPUs: 1}) {
		t.Fatalf("unreserved %v", a.Unreserved)
	}
	if a.Reserved != (Resources{CPUs: 2, Mem: 1024}) {
		t.Fatalf("reserved %v", a.Reserved)
	}
	// A child role may use its ancestor's reservations.
	if c := FromOffer(testOffer(), nil, "batch/child"); c.Reserved.CPUs != 3 {
		t.Fatalf("child reserved %v", c.Reserved)
	}
}

func TestCarver(t *testing.T) {
	o := testOffer()
	c := NewCarver(&o, "batch")
	rs, err := c.Take(Resources{CPUs: 1.5, Mem: 1024}, Resources{CPUs: 1, Mem: 50})
	if err != nil {
		t.Fatal(err)
	}
	var resCPU, resMem, unCPU, unMem float64
	for _, r := range rs {
		p, ok := poolOf(&r, "batch")
		if !ok {
			t.Fatalf("carved unusable %+v", r)
		}
		switch {
		case p == poolReserved && r.Name == "cpus":
			resCPU += r.Scalar.Value
		case p == poolReserved && r.Name == "mem":
			resMem += r.Scalar.Value
		case r.Name == "cpus":
			unCPU += r.Scalar.Value
		case r.Name == "mem":
			unMem += r.Scalar.Value
		}
	}
	if resCPU != 1.5 || resMem != 1024 || unCPU != 1 || unMem != 50 {
		t.Fatalf("carved %v %v %v %v", resCPU, resMem, unCPU, unMem)
	}
	// Only 0.5 reserved cpus remain: asking 1 fails and changes nothing.
	if _, err := c.Take(Resources{CPUs: 1}, Resources{}); err == nil {
		t.Fatal("want shortage error")
	}
	if _, err := c.Take(Resources{CPUs: 0.5}, Resources{CPUs: 3, Mem: 4146}); err != nil {
		t.Fatal(err)
	}
}
