package placement

import (
	"fmt"
	"strconv"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// MesosAttrs renders Mesos agent attributes as strings: TEXT as is, SCALAR
// as a number, RANGES as "[a-b,c-d]", SET as "{a,b}".
func MesosAttrs(attrs []mesos.Attribute) map[string]string {
	out := make(map[string]string, len(attrs))
	for i := range attrs {
		out[attrs[i].Name] = attrValue(&attrs[i])
	}
	return out
}

func attrValue(a *mesos.Attribute) string {
	switch a.Type {
	case mesos.TEXT:
		if a.Text != nil {
			return a.Text.Value
		}
	case mesos.SCALAR:
		if a.Scalar != nil {
			return strconv.FormatFloat(a.Scalar.Value, 'f', -1, 64)
		}
	case mesos.RANGES:
		if a.Ranges != nil {
			var b strings.Builder
			b.WriteByte('[')
			for i, r := range a.Ranges.Range {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%d-%d", r.Begin, r.End)
			}
			b.WriteByte(']')
			return b.String()
		}
	case mesos.SET:
		if a.Set != nil {
			return "{" + strings.Join(a.Set.Item, ",") + "}"
		}
	}
	return ""
}

// MergeAttrs overlays etcd attributes on Mesos ones (etcd wins) into a new map.
func MergeAttrs(mesosAttrs, etcdAttrs map[string]string) map[string]string {
	out := make(map[string]string, len(mesosAttrs)+len(etcdAttrs))
	for k, v := range mesosAttrs {
		out[k] = v
	}
	for k, v := range etcdAttrs {
		out[k] = v
	}
	return out
}

// FromOffer turns an offer into the placement view of its agent: merged
// attributes (etcd over Mesos) and the scalar resources usable by role,
// split into reserved (for role or an ancestor) and unreserved pools.
// Revocable, shared and persistent-volume resources are left out.
func FromOffer(o mesos.Offer, etcdAttrs map[string]string, role string) Agent {
	a := Agent{ID: o.AgentID.Value, Hostname: o.Hostname}
	a.Attrs = MergeAttrs(MesosAttrs(o.Attributes), etcdAttrs)
	for i := range o.Resources {
		r := &o.Resources[i]
		pool, ok := poolOf(r, role)
		if !ok {
			continue
		}
		dst := &a.Unreserved
		if pool == poolReserved {
			dst = &a.Reserved
		}
		dst.AddScalar(r.Name, r.GetScalar().GetValue())
	}
	return a
}

type pool uint8

const (
	poolUnreserved pool = iota
	poolReserved
)

// AddScalar adds v to the field of r that Mesos resource name stands for
// (cpus, mem, disk, gpus); other names are ignored.
func (r *Resources) AddScalar(name string, v float64) {
	switch name {
	case "cpus":
		r.CPUs += v
	case "mem":
		r.Mem += v
	case "disk":
		r.Disk += v
	case "gpus":
		r.GPUs += v
	}
}

func scalarOf(r Resources, name string) float64 {
	switch name {
	case "cpus":
		return r.CPUs
	case "mem":
		return r.Mem
	case "disk":
		return r.Disk
	case "gpus":
		return r.GPUs
	}
	return 0
}

// poolOf classifies a resource for role; ok is false for resources
// placement does not use.
func poolOf(r *mesos.Resource, role string) (pool, bool) {
	if r.Scalar == nil || r.Revocable != nil || r.Shared != nil {
		return 0, false
	}
	if r.Disk != nil && (r.Disk.Persistence != nil || r.Disk.Volume != nil) {
		return 0, false
	}
	switch r.Name {
	case "cpus", "mem", "disk", "gpus":
	default:
		return 0, false
	}
	owner := ""
	if n := len(r.Reservations); n > 0 {
		owner = r.Reservations[n-1].GetRole()
	} else if r.Role != nil && *r.Role != "*" {
		owner = *r.Role
	}
	if owner == "" {
		return poolUnreserved, true
	}
	if role == "" || owner == role || strings.HasPrefix(role, owner+"/") {
		return poolReserved, true
	}
	return 0, false
}

// Carver hands out an offer's resources to the tasks placed on it, as the
// mesos.Resource entries a LAUNCH needs (reservations, allocation_info and
// all), keeping track of what each entry has left.
type Carver struct {
	offer *mesos.Offer
	role  string
	left  []int64 // each entry's amount left, in Mesos' fixed point (Milli)
}

// NewCarver starts carving offer o for role.
func NewCarver(o *mesos.Offer, role string) *Carver {
	c := &Carver{offer: o, role: role, left: make([]int64, len(o.Resources))}
	for i := range o.Resources {
		c.left[i] = Milli(o.Resources[i].GetScalar().GetValue())
	}
	return c
}

// Take returns resource entries covering fromReserved out of the reserved
// pool and fromUnreserved out of the unreserved one (Result.FromReserved,
// Result.FromUnreserved), or an error when the offer no longer holds them.
func (c *Carver) Take(fromReserved, fromUnreserved Resources) ([]mesos.Resource, error) {
	var out []mesos.Resource
	saved := append([]int64(nil), c.left...)
	for _, p := range [...]struct {
		pool pool
		want Resources
	}{{poolReserved, fromReserved}, {poolUnreserved, fromUnreserved}} {
		for _, name := range [...]string{"cpus", "mem", "disk", "gpus"} {
			need := Milli(scalarOf(p.want, name))
			for i := range c.offer.Resources {
				if need <= 0 {
					break
				}
				r := &c.offer.Resources[i]
				if r.Name != name || c.left[i] <= 0 {
					continue
				}
				if pl, ok := poolOf(r, c.role); !ok || pl != p.pool {
					continue
				}
				take := min(need, c.left[i])
				cp := *r
				cp.Scalar = &mesos.Value_Scalar{Value: float64(take) / 1000}
				out = append(out, cp)
				c.left[i] -= take
				need -= take
			}
			if need > 0 {
				c.left = saved
				return nil, fmt.Errorf("carve %s from offer %s: %g short", name, c.offer.ID.Value, float64(need)/1000)
			}
		}
	}
	return out, nil
}
