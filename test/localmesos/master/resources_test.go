package master

import (
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func sc(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

func withRole(r mesos.Resource, role string, dynamic bool) mesos.Resource {
	r.Role = &role
	if dynamic {
		p := "ops"
		r.Reservation = &mesos.Resource_ReservationInfo{Principal: &p}
	}
	return r
}

func stack(r mesos.Resource, roles ...string) mesos.Resource {
	for i, role := range roles {
		role := role
		t := mesos.Resource_ReservationInfo_DYNAMIC
		if i == 0 && role == "static" {
			t = mesos.Resource_ReservationInfo_STATIC
		}
		r.Reservations = append(r.Reservations, mesos.Resource_ReservationInfo{Type: t.Enum(), Role: &role})
	}
	return r
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		name      string
		in        mesos.Resource
		wantRoles []string
		wantType  mesos.Resource_ReservationInfo_Type
		wantErr   bool
	}{
		{name: "unreserved star", in: withRole(sc("cpus", 1), "*", false)},
		{name: "unreserved nil role", in: sc("cpus", 1)},
		{name: "static pre-refinement", in: withRole(sc("cpus", 1), "eng", false), wantRoles: []string{"eng"}, wantType: mesos.Resource_ReservationInfo_STATIC},
		{name: "dynamic pre-refinement", in: withRole(sc("cpus", 1), "eng", true), wantRoles: []string{"eng"}, wantType: mesos.Resource_ReservationInfo_DYNAMIC},
		{name: "refined", in: stack(sc("cpus", 1), "eng", "eng/a"), wantRoles: []string{"eng", "eng/a"}, wantType: mesos.Resource_ReservationInfo_DYNAMIC},
		{name: "negative", in: sc("cpus", -1), wantErr: true},
		{name: "bad refinement", in: stack(sc("cpus", 1), "eng", "ops"), wantErr: true},
	}
	for _, c := range cases {
		in := c.in
		in.AllocationInfo = &mesos.Resource_AllocationInfo{Role: ptrS("x")}
		got, err := normalize(in)
		if c.wantErr {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.Role != nil || got.Reservation != nil || got.AllocationInfo != nil {
			t.Errorf("%s: not in internal form: %+v", c.name, got)
		}
		if len(got.Reservations) != len(c.wantRoles) {
			t.Errorf("%s: reservations %v, want roles %v", c.name, got.Reservations, c.wantRoles)
			continue
		}
		for i, r := range c.wantRoles {
			if got.Reservations[i].GetRole() != r {
				t.Errorf("%s: reservation %d role %q, want %q", c.name, i, got.Reservations[i].GetRole(), r)
			}
		}
		if n := len(got.Reservations); n > 0 && got.Reservations[n-1].GetType() != c.wantType {
			t.Errorf("%s: type %s, want %s", c.name, got.Reservations[n-1].GetType(), c.wantType)
		}
	}
}

func ptrS(s string) *string { return &s }

func TestForFramework(t *testing.T) {
	internal := mesos.Resources{sc("mem", 64), stack(sc("cpus", 1), "eng"), stack(sc("disk", 5), "eng", "eng/a")}
	// Plain framework: role "*" or role+reservation, refined resources hidden.
	plain := forFramework(internal, "eng", false, false)
	if len(plain) != 2 || plain[0].GetRole() != "*" || plain[1].GetRole() != "eng" || plain[1].Reservation == nil ||
		len(plain[1].Reservations) != 0 || plain[0].AllocationInfo != nil {
		t.Errorf("plain: %v", plain)
	}
	// MULTI_ROLE + refinement: reservations only, allocation info everywhere.
	refined := forFramework(internal, "eng/a", true, true)
	if len(refined) != 3 {
		t.Fatalf("refined: %v", refined)
	}
	for _, r := range refined {
		if r.Role != nil || r.Reservation != nil || r.AllocationInfo.GetRole() != "eng/a" {
			t.Errorf("refined resource %v", r)
		}
	}
	// The internal form is not modified.
	if internal[0].Role != nil || internal[1].AllocationInfo != nil {
		t.Errorf("forFramework changed its input: %v", internal)
	}
}

func TestAllocatableAndContains(t *testing.T) {
	rs := mesos.Resources{sc("cpus", 2), stack(sc("cpus", 1), "eng"), stack(sc("cpus", 1), "ops")}
	eng := allocatableTo(rs, "eng")
	if got := scalar(eng, "cpus"); got != 3 {
		t.Errorf("allocatable to eng: %v cpus, want 3", got)
	}
	if got := scalar(allocatableTo(rs, "eng/team"), "cpus"); got != 3 {
		t.Errorf("allocatable to child role eng/team: %v cpus, want 3 (ancestor reservation)", got)
	}
	if got := scalar(allocatableTo(rs, "*"), "cpus"); got != 2 {
		t.Errorf("allocatable to *: %v, want 2", got)
	}
	cases := []struct {
		that mesos.Resources
		want bool
	}{
		{mesos.Resources{sc("cpus", 2)}, true},
		{mesos.Resources{sc("cpus", 2.5)}, false},
		{mesos.Resources{stack(sc("cpus", 1), "eng")}, true},
		{mesos.Resources{stack(sc("cpus", 2), "eng")}, false},
		{mesos.Resources{sc("cpus", 1), sc("cpus", 1)}, true},
		{mesos.Resources{sc("cpus", 1), sc("cpus", 1.5)}, false},
		{mesos.Resources{sc("mem", 1)}, false},
	}
	for _, c := range cases {
		if got := contains(rs, c.that); got != c.want {
			t.Errorf("contains(%v, %v) = %v, want %v", rs, c.that, got, c.want)
		}
	}
	if !hasMinimum(mesos.Resources{sc("mem", 32)}) || hasMinimum(mesos.Resources{sc("disk", 100)}) || !hasMinimum(mesos.Resources{sc("cpus", 0.01)}) {
		t.Errorf("hasMinimum does not follow cpus:0.01|mem:32")
	}
}

func TestReserveChecksAndConversion(t *testing.T) {
	dyn := stack(sc("cpus", 1), "eng")
	dyn.Reservations[0].Principal = ptrS("ops")
	if err := checkReserve(mesos.Resources{dyn}, "ops"); err != nil {
		t.Errorf("valid reserve: %v", err)
	}
	if err := checkReserve(mesos.Resources{dyn}, "other"); err == nil {
		t.Errorf("principal mismatch accepted")
	}
	if err := checkReserve(mesos.Resources{sc("cpus", 1)}, ""); err == nil {
		t.Errorf("unreserved resource accepted for RESERVE")
	}
	if err := checkReserve(mesos.Resources{stack(sc("cpus", 1), "static")}, ""); err == nil {
		t.Errorf("static reservation accepted for RESERVE")
	}
	if err := checkUnreserve(mesos.Resources{stack(sc("cpus", 1), "static")}); err == nil {
		t.Errorf("static reservation accepted for UNRESERVE")
	}
	avail := mesos.Resources{sc("cpus", 4)}
	if !applyConversion(&avail, popAll(mesos.Resources{dyn}), mesos.Resources{dyn}) {
		t.Fatalf("reserve conversion failed")
	}
	if scalar(avail, "cpus") != 4 || len(avail) != 2 {
		t.Errorf("after reserve: %v", avail)
	}
	if applyConversion(&avail, mesos.Resources{stack(sc("cpus", 2), "eng")}, nil) {
		t.Errorf("unreserving more than reserved succeeded")
	}
}
