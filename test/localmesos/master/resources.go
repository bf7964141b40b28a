package master

import (
	"errors"
	"fmt"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/roles"
)

// The master keeps resources in one internal form: the post-refinement
// reservation stack (reservations), never the deprecated role/reservation
// fields, and no allocation_info. mesos-go's Resources maths then works
// without its CapabilityReservationRefinement switch, because role is always
// unset ("*") on both sides of every comparison.

// normalize validates r and converts it to the internal form.
func normalize(r mesos.Resource) (mesos.Resource, error) {
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("invalid resource %s: %w", r.GetName(), err)
	}
	r = *proto.Clone(&r).(*mesos.Resource)
	if len(r.Reservations) == 0 && r.GetRole() != "*" {
		role := r.GetRole()
		ri := mesos.Resource_ReservationInfo{Role: &role, Type: mesos.Resource_ReservationInfo_STATIC.Enum()}
		if res := r.Reservation; res != nil {
			ri.Type = mesos.Resource_ReservationInfo_DYNAMIC.Enum()
			ri.Principal = res.Principal
			ri.Labels = res.Labels
		}
		r.Reservations = []mesos.Resource_ReservationInfo{ri}
	}
	r.Role = nil
	r.Reservation = nil
	r.AllocationInfo = nil
	return r, nil
}

// normalizeAll converts rs to the internal form, merged.
func normalizeAll(rs []mesos.Resource) (mesos.Resources, error) {
	var out mesos.Resources
	for _, r := range rs {
		n, err := normalize(r)
		if err != nil {
			return nil, err
		}
		out.Add1(n)
	}
	return out, nil
}

// forFramework renders internal resources the way a framework sees them:
// allocation_info for MULTI_ROLE frameworks, the pre-refinement format
// (role "*", role+reservation) for frameworks without RESERVATION_REFINEMENT,
// which never see refined (multi-level) reservations.
func forFramework(rs mesos.Resources, role string, multiRole, refinement bool) []mesos.Resource {
	out := make([]mesos.Resource, 0, len(rs))
	for _, r := range rs {
		r := *proto.Clone(&r).(*mesos.Resource)
		if !refinement {
			if len(r.Reservations) > 1 {
				continue
			}
			r = downgrade(r)
		}
		if multiRole {
			rl := role
			r.AllocationInfo = &mesos.Resource_AllocationInfo{Role: &rl}
		}
		out = append(out, r)
	}
	return out
}

// downgrade converts a resource with at most one reservation to the
// pre-refinement format.
func downgrade(r mesos.Resource) mesos.Resource {
	star := "*"
	if len(r.Reservations) == 0 {
		r.Role = &star
		return r
	}
	ri := r.Reservations[0]
	role := ri.GetRole()
	r.Role = &role
	if ri.GetType() == mesos.Resource_ReservationInfo_DYNAMIC {
		r.Reservation = &mesos.Resource_ReservationInfo{Principal: ri.Principal, Labels: ri.Labels}
	}
	r.Reservations = nil
	return r
}

// bothFormats renders a resource with the old role/reservation fields as
// well as reservations, as GET_AGENTS does.
func bothFormats(rs mesos.Resources) []mesos.Resource {
	out := make([]mesos.Resource, 0, len(rs))
	for _, r := range rs {
		r := *proto.Clone(&r).(*mesos.Resource)
		if len(r.Reservations) <= 1 {
			d := downgrade(*proto.Clone(&r).(*mesos.Resource))
			r.Role, r.Reservation = d.Role, d.Reservation
		}
		out = append(out, r)
	}
	return out
}

// allocatableTo returns the part of rs a role may be offered: unreserved
// resources and those reserved for the role or one of its ancestors.
func allocatableTo(rs mesos.Resources, role string) mesos.Resources {
	var out mesos.Resources
	for i := range rs {
		if rs[i].IsAllocatableTo(role) {
			out = append(out, rs[i])
		}
	}
	return out
}

// hasMinimum reports whether rs meets Mesos' default min_allocatable_resources
// (cpus:0.01 or mem:32).
func hasMinimum(rs mesos.Resources) bool {
	var cpus, mem float64
	for i := range rs {
		switch rs[i].Name {
		case "cpus":
			cpus += rs[i].GetScalar().GetValue()
		case "mem":
			mem += rs[i].GetScalar().GetValue()
		}
	}
	return cpus >= 0.01 || mem >= 32
}

// contains reports whether all of that fits in rs.
func contains(rs mesos.Resources, that mesos.Resources) bool {
	rest := rs.Clone()
	for _, r := range that {
		found := false
		for i := range rest {
			if rest[i].Contains(r) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
		rest.Subtract1(r)
	}
	return true
}

// unreserveOne pops the last reservation of r.
func unreserveOne(r mesos.Resource) mesos.Resource {
	r = *proto.Clone(&r).(*mesos.Resource)
	r.Reservations = r.Reservations[:len(r.Reservations)-1]
	if len(r.Reservations) == 0 {
		r.Reservations = nil
	}
	return r
}

// reservation checks shared by scheduler and operator RESERVE: every
// resource is dynamically reserved by exactly one more level than its source.
func checkReserve(rs mesos.Resources, principal string) error {
	if len(rs) == 0 {
		return errors.New("no resources to reserve")
	}
	for _, r := range rs {
		if len(r.Reservations) == 0 {
			return fmt.Errorf("resource %s must be reserved", r.Name)
		}
		last := r.Reservations[len(r.Reservations)-1]
		if last.GetType() != mesos.Resource_ReservationInfo_DYNAMIC {
			return fmt.Errorf("resource %s must be dynamically reserved", r.Name)
		}
		if _, err := roles.Parse(last.GetRole()); err != nil || last.GetRole() == "*" {
			return fmt.Errorf("resource %s: invalid reservation role %q", r.Name, last.GetRole())
		}
		if principal != "" && last.GetPrincipal() != principal {
			return fmt.Errorf("resource %s: reservation principal %q does not match %q", r.Name, last.GetPrincipal(), principal)
		}
		if r.IsRevocable() {
			return fmt.Errorf("resource %s: revocable resources cannot be reserved", r.Name)
		}
	}
	return nil
}

func checkUnreserve(rs mesos.Resources) error {
	if len(rs) == 0 {
		return errors.New("no resources to unreserve")
	}
	for _, r := range rs {
		if !r.IsDynamicallyReserved() {
			return fmt.Errorf("resource %s must be dynamically reserved", r.Name)
		}
		if r.IsPersistentVolume() {
			return fmt.Errorf("resource %s: a persistent volume cannot be unreserved", r.Name)
		}
	}
	return nil
}

// applyConversion replaces from with to inside *rs, if rs contains from.
func applyConversion(rs *mesos.Resources, from, to mesos.Resources) bool {
	if !contains(*rs, from) {
		return false
	}
	rs.Subtract(from...)
	rs.Add(to...)
	return true
}

func popAll(rs mesos.Resources) mesos.Resources {
	var out mesos.Resources
	for _, r := range rs {
		out.Add1(unreserveOne(r))
	}
	return out
}

func scalar(rs mesos.Resources, name string) float64 {
	var v float64
	for i := range rs {
		if rs[i].Name == name && rs[i].GetType() == mesos.SCALAR {
			v += rs[i].GetScalar().GetValue()
		}
	}
	return v
}

// defaultPorts is what an agent offers when it names no ports.
func withDefaultPorts(rs mesos.Resources) mesos.Resources {
	for _, r := range rs {
		if r.Name == "ports" {
			return rs
		}
	}
	return append(rs, mesos.Resource{Name: "ports", Type: mesos.RANGES.Enum(),
		Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: 31000, End: 32000}}}})
}
