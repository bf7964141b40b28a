package framework

import (
	"sort"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// fixed is a scalar in Mesos' fixed point (thousandths), the rounding
// every fit uses (placement.Milli).
func fixed(v float64) int64 { return placement.Milli(v) }

func isReserved(r *mesos.Resource) bool {
	return len(r.Reservations) > 0 || (r.Role != nil && *r.Role != "*" && *r.Role != "")
}

// pool is the remaining resources of one offer while tasks are carved out.
type pool struct {
	res []mesos.Resource
}

// newPool copies an offer's usable scalar resources, reserved ones first so
// tasks use the role's reservations before unreserved resources.
func newPool(rs []mesos.Resource) *pool {
	p := &pool{}
	for _, r := range rs {
		if r.GetType() != mesos.SCALAR || r.Revocable != nil || r.Shared != nil || r.Disk != nil && r.Disk.Persistence != nil {
			continue
		}
		p.res = append(p.res, r)
	}
	sort.SliceStable(p.res, func(i, j int) bool { return isReserved(&p.res[i]) && !isReserved(&p.res[j]) })
	return p
}

// available sums the pool by name.
func (p *pool) available() job.Resources { return p.sum(false) }

// reserved sums the pool's entries reserved for the role.
func (p *pool) reserved() job.Resources { return p.sum(true) }

// sum adds up the pool's entries by name, only the reserved ones if
// onlyReserved is set.
func (p *pool) sum(onlyReserved bool) job.Resources {
	var out placement.Resources
	for i := range p.res {
		if onlyReserved && !isReserved(&p.res[i]) {
			continue
		}
		out.AddScalar(p.res[i].Name, p.res[i].GetScalar().GetValue())
	}
	return job.Resources(out)
}

// take carves want out of the pool, reserved entries first, and returns
// the Mesos resources for a TaskInfo; ok is false (pool unchanged) if it
// does not fit.
func (p *pool) take(want job.Resources) ([]mesos.Resource, bool) {
	need := []struct {
		name string
		v    int64
	}{{"cpus", fixed(want.CPUs)}, {"mem", fixed(want.Mem)}, {"disk", fixed(want.Disk)}, {"gpus", fixed(want.GPUs)}}
	left := make([]int64, len(p.res))
	for i := range p.res {
		left[i] = fixed(p.res[i].GetScalar().GetValue())
	}
	var out []mesos.Resource
	for _, n := range need {
		rem := n.v
		for i := range p.res {
			if rem == 0 {
				break
			}
			if p.res[i].Name != n.name || left[i] == 0 {
				continue
			}
			t := min(rem, left[i])
			left[i] -= t
			rem -= t
			r := p.res[i]
			r.Scalar = &mesos.Value_Scalar{Value: float64(t) / 1000}
			out = append(out, r)
		}
		if rem > 0 {
			return nil, false
		}
	}
	for i := range p.res {
		p.res[i].Scalar = &mesos.Value_Scalar{Value: float64(left[i]) / 1000}
	}
	return out, true
}
