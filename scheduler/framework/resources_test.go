package framework

import (
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func scalar(name string, v float64, role string) mesos.Resource {
	r := mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v},
		AllocationInfo: &mesos.Resource_AllocationInfo{Role: &[]string{"batch"}[0]}}
	if role != "" {
		r.Reservations = []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: &role}}
	}
	return r
}

func TestPoolReservedFirst(t *testing.T) {
	p := newPool([]mesos.Resource{
		scalar("cpus", 2, ""), scalar("mem", 1024, ""),
		scalar("cpus", 0.5, "batch"), scalar("mem", 100, "batch"),
		{Name: "ports", Type: mesos.RANGES.Enum()},
	})
	if a := p.available(); a.CPUs != 2.5 || a.Mem != 1124 {
		t.Fatalf("available = %+v", a)
	}
	rs, ok := p.take(job.Resources{CPUs: 1, Mem: 64})
	if !ok {
		t.Fatal("take failed")
	}
	// 0.5 reserved cpus then 0.5 unreserved; 64 reserved mem.
	if len(rs) != 3 || len(rs[0].Reservations) != 1 || rs[0].GetScalar().GetValue() != 0.5 ||
		len(rs[1].Reservations) != 0 || rs[1].GetScalar().GetValue() != 0.5 ||
		rs[2].Name != "mem" || len(rs[2].Reservations) != 1 || rs[2].GetScalar().GetValue() != 64 {
		t.Fatalf("take = %v", rs)
	}
	if rs[0].AllocationInfo.GetRole() != "batch" {
		t.Fatal("allocation info not kept")
	}
	if a := p.available(); a.CPUs != 1.5 || a.Mem != 1060 {
		t.Fatalf("available after take = %+v", a)
	}
	if _, ok := p.take(job.Resources{CPUs: 2, Mem: 1}); ok {
		t.Fatal("took more cpus than offered")
	}
	if a := p.available(); a.CPUs != 1.5 {
		t.Fatalf("failed take changed the pool: %+v", a)
	}
	for i := 0; i < 15; i++ {
		if _, ok := p.take(job.Resources{CPUs: 0.1, Mem: 1}); !ok {
			t.Fatalf("take %d of 0.1 cpus failed (rounding)", i)
		}
	}
	if a := p.available(); a.CPUs != 0 {
		t.Fatalf("cpus left = %v, want 0", a.CPUs)
	}
}

func TestResolveLocation(t *testing.T) {
	cases := []struct{ asked, loc, want string }{
		{"http://m1:5050", "//m2:5050", "http://m2:5050"},
		{"https://m1:5050", "//m2:5050/master", "https://m2:5050"},
		{"http://m1:5050", "http://m3:5051/x", "http://m3:5051"},
		{"http://m1:5050", "m2:5050", "http://m1:5050"},
		{"http://m1:5050", "", "http://m1:5050"},
	}
	for _, c := range cases {
		if got := resolveLocation(c.asked, c.loc); got != c.want {
			t.Errorf("resolveLocation(%q, %q) = %q, want %q", c.asked, c.loc, got, c.want)
		}
	}
}
