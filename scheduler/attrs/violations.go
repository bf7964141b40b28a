package attrs

import (
	"sort"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// Instance is a running instance as far as constraint checking goes.
type Instance struct {
	Key         string
	Group       string
	Hostname    string
	Constraints *placement.Constraints
	Started     time.Time
}

// Violation names an instance that no longer satisfies a constraint.
type Violation struct {
	Instance   Instance
	Constraint string // "zone IS a"
}

// Violations lists the running instances whose constraints the current
// attributes (host → merged attributes, Mesos overlaid with etcd) no longer
// allow. Attribute constraints (IS, LIKE, UNLIKE, EXISTS, NOT_EXISTS,
// CLUSTER with a value) are checked per instance. For UNIQUE, MAX_PER and
// CLUSTER without a value, the instances that have run longest keep their
// place and the rest of each over-full value violate; GROUP_BY balance is
// not enforced after placement. Instances on hosts missing from attrs are
// skipped (unknown is not changed). Output is ordered by instance key.
func Violations(running []Instance, attrs map[string]map[string]string) []Violation {
	var out []Violation
	bad := map[string]bool{}
	type gf struct {
		group string
		ci    int
	}
	counting := map[gf][]int{} // instances per (group, counting constraint)
	for i := range running {
		in := &running[i]
		if in.Constraints == nil {
			continue
		}
		a, known := attrs[in.Hostname]
		if !known {
			// Unknown is not changed: never move on partial knowledge.
			continue
		}
		for ci := range in.Constraints.List {
			c := &in.Constraints.List[ci]
			if !c.Satisfies(a, in.Hostname) {
				if !bad[in.Key] {
					bad[in.Key] = true
					out = append(out, Violation{Instance: *in, Constraint: c.String()})
				}
				break
			}
			switch c.Op {
			case placement.OpUnique, placement.OpMaxPer:
				counting[gf{in.Group, ci}] = append(counting[gf{in.Group, ci}], i)
			case placement.OpCluster:
				if c.Value == "" {
					counting[gf{in.Group, ci}] = append(counting[gf{in.Group, ci}], i)
				}
			}
		}
	}
	keys := make([]gf, 0, len(counting))
	for k := range counting {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].group != keys[j].group {
			return keys[i].group < keys[j].group
		}
		return keys[i].ci < keys[j].ci
	})
	for _, k := range keys {
		idx := counting[k]
		// Longest running first, then key: they keep their place.
		sort.Slice(idx, func(a, b int) bool {
			x, y := &running[idx[a]], &running[idx[b]]
			if !x.Started.Equal(y.Started) {
				return x.Started.Before(y.Started)
			}
			return x.Key < y.Key
		})
		var valid []int
		for _, i := range idx {
			if !bad[running[i].Key] {
				valid = append(valid, i)
			}
		}
		if len(valid) == 0 {
			continue
		}
		c := &running[valid[0]].Constraints.List[k.ci]
		value := func(i int) string {
			v, _ := fieldValue(attrs[running[i].Hostname], c.Field, running[i].Hostname)
			return v
		}
		limit := 1
		if c.Op == placement.OpMaxPer {
			limit = maxPer(c)
		}
		keep := map[string]int{}
		var clusterValue string
		if c.Op == placement.OpCluster {
			// The value most instances share stays (ties: the oldest's).
			n := map[string]int{}
			for _, i := range valid {
				n[value(i)]++
			}
			best := -1
			for _, i := range valid {
				if v := value(i); n[v] > best {
					best, clusterValue = n[v], v
				}
			}
		}
		for _, i := range valid {
			v := value(i)
			ok := true
			if c.Op == placement.OpCluster {
				ok = v == clusterValue
			} else {
				keep[v]++
				ok = keep[v] <= limit
			}
			if !ok {
				bad[running[i].Key] = true
				out = append(out, Violation{Instance: running[i], Constraint: c.String()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance.Key < out[j].Instance.Key })
	return out
}

func fieldValue(attrs map[string]string, field, host string) (string, bool) {
	if field == placement.HostnameField {
		return host, true
	}
	v, ok := attrs[field]
	return v, ok
}

func maxPer(c *placement.Constraint) int {
	n := 0
	for _, r := range c.Value {
		n = n*10 + int(r-'0')
	}
	return n
}

// MoveLimiter bounds how fast violating instances are moved (killed and
// requeued), as a token bucket: Rate moves per second, up to Burst at once.
// It is pure: the caller passes the time.
type MoveLimiter struct {
	Rate   float64
	Burst  int
	tokens float64
	last   time.Time
}

// NewMoveLimiter starts with a full bucket.
func NewMoveLimiter(rate float64, burst int) *MoveLimiter {
	if burst < 1 {
		burst = 1
	}
	return &MoveLimiter{Rate: rate, Burst: burst, tokens: float64(burst)}
}

// Take returns how many of want moves may start at now (0..want) and
// spends them.
func (l *MoveLimiter) Take(now time.Time, want int) int {
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens += now.Sub(l.last).Seconds() * l.Rate
		if l.tokens > float64(l.Burst) {
			l.tokens = float64(l.Burst)
		}
	}
	if l.last.IsZero() || now.After(l.last) {
		l.last = now
	}
	n := int(l.tokens + 1e-9)
	if n > want {
		n = want
	}
	if n < 0 {
		n = 0
	}
	l.tokens -= float64(n)
	return n
}
