package placement

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
)

// Milli is a scalar resource in the fixed point Mesos keeps scalars in:
// thousandths, rounded to the nearest. Every fit of resources (placement,
// the engine, the framework's carving, evict) compares amounts in it, so
// float sums and differences never make a fit disagree between them.
func Milli(v float64) int64 { return int64(math.Round(v * 1000)) }

// AtLeast reports whether have holds want, in Mesos' fixed point.
func AtLeast(have, want float64) bool { return Milli(have) >= Milli(want) }

// Resources is a vector of the scalar resources placement understands, in
// Mesos units (cpus, mem and disk in MiB, gpus).
type Resources struct {
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`
	Disk float64 `json:"disk"`
	GPUs float64 `json:"gpus"`
}

// Add returns r+o.
func (r Resources) Add(o Resources) Resources {
	return Resources{r.CPUs + o.CPUs, r.Mem + o.Mem, r.Disk + o.Disk, r.GPUs + o.GPUs}
}

// Sub returns r-o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{r.CPUs - o.CPUs, r.Mem - o.Mem, r.Disk - o.Disk, r.GPUs - o.GPUs}
}

// Covers reports whether r holds at least o in every dimension.
func (r Resources) Covers(o Resources) bool {
	return AtLeast(r.CPUs, o.CPUs) && AtLeast(r.Mem, o.Mem) && AtLeast(r.Disk, o.Disk) && AtLeast(r.GPUs, o.GPUs)
}

// IsZero reports whether every dimension is zero in Mesos' fixed point.
func (r Resources) IsZero() bool {
	return Milli(r.CPUs) == 0 && Milli(r.Mem) == 0 && Milli(r.Disk) == 0 && Milli(r.GPUs) == 0
}

// Max returns the per-dimension maximum of r and o.
func (r Resources) Max(o Resources) Resources {
	return Resources{max(r.CPUs, o.CPUs), max(r.Mem, o.Mem), max(r.Disk, o.Disk), max(r.GPUs, o.GPUs)}
}

// Validate rejects negative or non-finite amounts, naming the field.
func (r Resources) Validate() error {
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"cpus", r.CPUs}, {"mem", r.Mem}, {"disk", r.Disk}, {"gpus", r.GPUs}} {
		if f.v < 0 || f.v != f.v || f.v > 1e15 {
			return &fielderr.FieldError{Field: "resources." + f.name, Msg: "must be a finite number >= 0, got " + strconv.FormatFloat(f.v, 'g', -1, 64)}
		}
	}
	return nil
}

func (r Resources) String() string {
	return fmt.Sprintf("cpus:%g mem:%g disk:%g gpus:%g", r.CPUs, r.Mem, r.Disk, r.GPUs)
}

// Agent is one agent as placement sees it in an offer cycle.
type Agent struct {
	// ID is the Mesos agent id; Hostname identifies the agent for attributes,
	// constraints and counting.
	ID       string
	Hostname string
	// Attrs are the merged attributes: the Mesos attributes overlaid with the
	// etcd attributes (etcd wins). Placement copies them when they change.
	Attrs map[string]string
	// Reserved holds what is offered reserved for the framework's role;
	// Unreserved what is offered unreserved. Reserved is consumed first.
	Reserved   Resources
	Unreserved Resources
	// Capacity is the agent's total size used for ranking and for deciding
	// that an ask can never fit; zero means the largest offer seen so far.
	Capacity Resources
	// MonitorSilent marks an agent whose monitor stopped heart-beating; no
	// work is placed there while it is silent.
	MonitorSilent bool
}

// Strategy is how feasible agents are ranked.
type Strategy uint8

const (
	// BinPack (the default, for batch work) prefers the fullest agent.
	BinPack Strategy = iota
	// Spread prefers the emptiest agent.
	Spread
)

// Ask is one pending instance to place.
type Ask struct {
	// Key identifies the instance (e.g. job.task.index).
	Key string
	// Group is the set of instances that UNIQUE, CLUSTER, GROUP_BY and MAX_PER
	// count together, usually job/task.
	Group       string
	Resources   Resources
	Constraints *Constraints
	Strategy    Strategy
	// Priority: higher runs first and may preempt lower.
	Priority int
	User     string
	Queue    string
	// Seq orders asks first-in first-out among equals (e.g. submit order).
	Seq uint64
}

// Code is the outcome of a placement decision.
type Code uint8

const (
	// Placed: the ask got an agent; the agent's offer was consumed.
	Placed Code = iota
	// UnschedulableNow: no agent in this cycle fits, but one might later.
	UnschedulableNow
	// UnschedulableForever: no known agent could ever take the ask (a
	// constraint nobody satisfies, or larger than every agent); the
	// scheduler need not revive offers for it.
	UnschedulableForever
	// Error: the ask itself is invalid.
	Error
)

func (c Code) String() string {
	switch c {
	case Placed:
		return "placed"
	case UnschedulableNow:
		return "unschedulable"
	case UnschedulableForever:
		return "unschedulable-forever"
	case Error:
		return "error"
	}
	return "code(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText renders the code by name ("placed", "unschedulable", ...).
func (c Code) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a code by name, as MarshalText writes it.
func (c *Code) UnmarshalText(b []byte) error {
	for k := Placed; k <= Error; k++ {
		if k.String() == string(b) {
			*c = k
			return nil
		}
	}
	return fmt.Errorf("unknown placement code %q", b)
}
