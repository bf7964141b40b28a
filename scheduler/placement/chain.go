package placement

import (
	"maps"
	"sort"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
)

// Config tunes a Chain.
type Config struct {
	// Limit is how many feasible candidates are ranked per placement (the
	// "power of two choices"); default 2.
	Limit int
	// Seed makes the candidate order reproducible; default 1.
	Seed uint64
	// MinCPUs and MinMem: an offer left below either is dropped from the
	// cycle; default MesosMinCPUs / MesosMinMem.
	MinCPUs float64
	MinMem  float64
}

// Mesos' default --min_allocatable_resources (cpus:0.01|mem:32): the
// master offers nothing smaller. The spec parser refuses a task asking for
// less (it could never be given a useful offer slice, and Mesos refuses
// resources that round to zero at its 0.001 precision).
const (
	MesosMinCPUs = 0.01
	MesosMinMem  = 32 // MiB
)

// Chain is the placement chain, built once and reused for every offer
// cycle: it remembers every agent seen (for attribute classes, counting and
// "can never fit"), the instances running per group, and, per cycle, the
// offers still open. A Chain is not safe for concurrent use.
type Chain struct {
	cfg Config
	rng uint64

	agents  []knownAgent
	byHost  map[string]int32
	classes map[string]int32
	version uint64 // bumps when attributes or capacities change
	keyBuf  []string
	cbuf    []byte

	// tracked fields for GROUP_BY: field → value → number of agents.
	fieldVals map[string]*fieldValues

	sets     []*Constraints
	slots    map[*Constraints]int32
	verdicts [][]uint8 // [set slot][class]: 0 unknown, 1 feasible, 2+i failed constraint i
	forever  []foreverMemo

	groups map[string]*group

	cycle uint64
	live  []int32 // agents with open offers this cycle

	fails    map[failKey]int32
	failPool []failMemo
	nfail    int32

	x Explanation // scratch explanation, aliased by results
}

type knownAgent struct {
	host, id string
	attrs    map[string]string
	class    int32
	capacity Resources
	fixedCap bool
	silent   bool

	cycle   uint64
	res     Resources // remaining reserved this cycle
	unres   Resources // remaining unreserved this cycle
	livePos int32
	removed bool
}

type fieldValues struct {
	vals map[string]int32
	ver  uint64
}

type group struct {
	gen    uint64
	hosts  map[int32]int32
	total  int32
	fields map[string]*fieldCount
}

type fieldCount struct {
	counts   map[string]int32
	min      int32
	minVer   uint64
	minValid bool
}

type foreverMemo struct {
	version uint64
	res     Resources
	fits    bool
	valid   bool
}

type failKey struct {
	slot  int32
	group *group
}

type failMemo struct {
	res        Resources
	gen        uint64
	counts     [numReasons]int32
	consCounts []int32
}

// NewChain returns a Chain with defaults filled in.
func NewChain(cfg Config) *Chain {
	if cfg.Limit <= 0 {
		cfg.Limit = 2
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.MinCPUs <= 0 {
		cfg.MinCPUs = MesosMinCPUs
	}
	if cfg.MinMem <= 0 {
		cfg.MinMem = MesosMinMem
	}
	return &Chain{
		cfg:       cfg,
		rng:       cfg.Seed,
		byHost:    make(map[string]int32),
		classes:   make(map[string]int32),
		fieldVals: make(map[string]*fieldValues),
		groups:    make(map[string]*group),
		fails:     make(map[failKey]int32),
		slots:     make(map[*Constraints]int32),
	}
}

func (e *Chain) rand() uint64 {
	// xorshift64*
	e.rng ^= e.rng >> 12
	e.rng ^= e.rng << 25
	e.rng ^= e.rng >> 27
	return e.rng * 2685821657736338717
}

// Observe records an agent (attributes, capacity, monitor state) without
// offering it; Offer calls it. It allocates only when the agent is new or
// its attributes changed.
func (e *Chain) Observe(a *Agent) int32 {
	idx, ok := e.byHost[a.Hostname]
	if !ok {
		idx = int32(len(e.agents))
		e.agents = append(e.agents, knownAgent{host: a.Hostname, id: a.ID, class: -1, livePos: -1})
		e.byHost[a.Hostname] = idx
		e.setAttrs(idx, a.Attrs)
	} else {
		if e.agents[idx].removed {
			e.agents[idx].removed = false
			e.countValues(idx, 1)
			e.version++
		}
		if !maps.Equal(e.agents[idx].attrs, a.Attrs) {
			e.setAttrs(idx, a.Attrs)
		}
	}
	ag := &e.agents[idx]
	if a.ID != "" && ag.id != a.ID {
		ag.id = a.ID
	}
	ag.silent = a.MonitorSilent
	if !a.Capacity.IsZero() {
		if ag.capacity != a.Capacity {
			ag.capacity, ag.fixedCap = a.Capacity, true
			e.version++
		}
	} else if tot := a.Reserved.Add(a.Unreserved); !ag.fixedCap && !ag.capacity.Covers(tot) {
		ag.capacity = ag.capacity.Max(tot)
		e.version++
	}
	return idx
}

// RemoveAgent forgets an agent that left the cluster: it no longer counts
// as a place an ask could ever fit, nor as a GROUP_BY value to balance
// over. Its running counts stay until RemoveRunning. Offering it again
// brings it back.
func (e *Chain) RemoveAgent(hostname string) {
	idx, ok := e.byHost[hostname]
	if !ok || e.agents[idx].removed {
		return
	}
	ag := &e.agents[idx]
	e.countValues(idx, -1)
	ag.removed = true
	ag.capacity, ag.fixedCap = Resources{}, false
	if ag.livePos >= 0 {
		e.dropLive(ag)
	}
	e.version++
}

// countValues adds n to the tracked GROUP_BY values agent idx carries.
func (e *Chain) countValues(idx int32, n int32) {
	ag := &e.agents[idx]
	for f, fv := range e.fieldVals {
		v, ok := lookup(ag.attrs, f, ag.host)
		if !ok {
			continue
		}
		c := fv.vals[v] + n
		switch {
		case c <= 0:
			delete(fv.vals, v)
			fv.ver++
		case c == 1 && n > 0:
			fv.vals[v] = c
			fv.ver++
		default:
			fv.vals[v] = c
		}
	}
}

// setAttrs installs a copy of attrs on agent idx and moves the agent's
// class, tracked GROUP_BY values and group counts to the new values.
func (e *Chain) setAttrs(idx int32, attrs map[string]string) {
	ag := &e.agents[idx]
	old := ag.attrs
	cp := make(map[string]string, len(attrs))
	for k, v := range attrs {
		cp[k] = v
	}
	ag.attrs = cp
	ag.class = e.classOf(cp)
	e.version++
	for f, fv := range e.fieldVals {
		ov, oldOK := lookup(old, f, ag.host)
		nv, newOK := lookup(cp, f, ag.host)
		if old != nil && oldOK == newOK && ov == nv {
			continue
		}
		if old != nil && oldOK {
			if fv.vals[ov]--; fv.vals[ov] <= 0 {
				delete(fv.vals, ov)
				fv.ver++
			}
		}
		if newOK {
			if fv.vals[nv]++; fv.vals[nv] == 1 {
				fv.ver++
			}
		}
	}
	if old == nil {
		return
	}
	for _, g := range e.groups {
		n := g.hosts[idx]
		if n == 0 {
			continue
		}
		for f, fc := range g.fields {
			ov, oldOK := lookup(old, f, ag.host)
			nv, newOK := lookup(cp, f, ag.host)
			if oldOK == newOK && ov == nv {
				continue
			}
			if oldOK {
				fc.add(ov, -n)
			}
			if newOK {
				fc.add(nv, n)
			}
		}
	}
}

func (e *Chain) classOf(attrs map[string]string) int32 {
	keys := e.keyBuf[:0]
	for k := range attrs {
		if k != HostnameField {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	b := e.cbuf[:0]
	for _, k := range keys {
		b = append(b, k...)
		b = append(b, 0)
		b = append(b, attrs[k]...)
		b = append(b, 0)
	}
	e.keyBuf, e.cbuf = keys, b
	if c, ok := e.classes[string(b)]; ok {
		return c
	}
	c := int32(len(e.classes))
	e.classes[string(b)] = c
	return c
}

// lookup returns the value of field on an agent: its hostname for
// "hostname", else the attribute.
func lookup(attrs map[string]string, field, host string) (string, bool) {
	if field == HostnameField {
		return host, true
	}
	v, ok := attrs[field]
	return v, ok
}

// Classes returns how many distinct attribute classes the known agents form.
func (e *Chain) Classes() int { return len(e.classes) }

// BeginCycle starts an offer cycle: offers from the previous cycle are
// forgotten. Running counts persist.
func (e *Chain) BeginCycle() {
	e.cycle++
	for _, i := range e.live {
		e.agents[i].livePos = -1
	}
	e.live = e.live[:0]
	clear(e.fails)
	e.nfail = 0
}

// Offer adds an agent's offered resources to the current cycle (several
// offers of one agent add up).
func (e *Chain) Offer(a *Agent) {
	idx := e.Observe(a)
	if e.nfail > 0 {
		// More resources: failures remembered this cycle no longer hold.
		clear(e.fails)
		e.nfail = 0
	}
	ag := &e.agents[idx]
	if ag.cycle != e.cycle {
		ag.cycle = e.cycle
		ag.res, ag.unres = Resources{}, Resources{}
	}
	ag.res = ag.res.Add(a.Reserved)
	ag.unres = ag.unres.Add(a.Unreserved)
	if ag.livePos < 0 && e.usable(ag) {
		ag.livePos = int32(len(e.live))
		e.live = append(e.live, idx)
	}
}

func (e *Chain) usable(ag *knownAgent) bool {
	return AtLeast(ag.res.CPUs+ag.unres.CPUs, e.cfg.MinCPUs) && AtLeast(ag.res.Mem+ag.unres.Mem, e.cfg.MinMem)
}

// Remaining returns what is still open on hostname's offers this cycle.
func (e *Chain) Remaining(hostname string) (reserved, unreserved Resources) {
	idx, ok := e.byHost[hostname]
	if !ok || e.agents[idx].cycle != e.cycle {
		return Resources{}, Resources{}
	}
	return e.agents[idx].res, e.agents[idx].unres
}

func (e *Chain) group(name string) *group {
	g, ok := e.groups[name]
	if !ok {
		g = &group{hosts: make(map[int32]int32), fields: make(map[string]*fieldCount)}
		e.groups[name] = g
	}
	return g
}

func (fc *fieldCount) add(v string, n int32) {
	c := fc.counts[v] + n
	if c <= 0 {
		delete(fc.counts, v)
	} else {
		fc.counts[v] = c
	}
	fc.minValid = false
}

func (e *Chain) hostIndex(hostname string) int32 {
	if idx, ok := e.byHost[hostname]; ok {
		return idx
	}
	return e.Observe(&Agent{Hostname: hostname})
}

// AddRunning counts an instance of group running on hostname (at recovery,
// or when an instance placed elsewhere is learnt of). Place counts its own
// placements; do not add those again.
func (e *Chain) AddRunning(groupName, hostname string) {
	e.bump(e.group(groupName), e.hostIndex(hostname), 1)
}

// RemoveRunning uncounts an instance of group on hostname: it ended, or its
// placement was not launched after all.
func (e *Chain) RemoveRunning(groupName, hostname string) {
	g, ok := e.groups[groupName]
	if !ok {
		return
	}
	idx, ok := e.byHost[hostname]
	if !ok || g.hosts[idx] == 0 {
		return
	}
	e.bump(g, idx, -1)
}

// ForgetGroup drops a group's counts (its task is finished or deleted), so
// the engine does not keep it forever.
func (e *Chain) ForgetGroup(groupName string) { delete(e.groups, groupName) }

// ForgetConstraints drops the caches kept for a constraint set that no
// pending ask uses any more.
func (e *Chain) ForgetConstraints(cs *Constraints) {
	slot, ok := e.slots[cs]
	if !ok {
		return
	}
	delete(e.slots, cs)
	e.sets[slot], e.verdicts[slot] = nil, nil
	if cs.owner == e {
		cs.owner = nil
	}
}

// Running returns how many instances of group are counted on hostname.
func (e *Chain) Running(groupName, hostname string) int {
	g, ok := e.groups[groupName]
	if !ok {
		return 0
	}
	idx, ok := e.byHost[hostname]
	if !ok {
		return 0
	}
	return int(g.hosts[idx])
}

func (e *Chain) bump(g *group, idx int32, n int32) {
	if c := g.hosts[idx] + n; c <= 0 {
		delete(g.hosts, idx)
	} else {
		g.hosts[idx] = c
	}
	g.total += n
	ag := &e.agents[idx]
	for f, fc := range g.fields {
		if v, ok := lookup(ag.attrs, f, ag.host); ok {
			fc.add(v, n)
		}
	}
	// Counts changed: failures remembered for this group no longer hold.
	g.gen++
}

// field returns g's counts by value of field, built on first use.
func (e *Chain) field(g *group, f string) *fieldCount {
	fc, ok := g.fields[f]
	if ok {
		return fc
	}
	fc = &fieldCount{counts: make(map[string]int32)}
	for idx, n := range g.hosts {
		ag := &e.agents[idx]
		if v, ok := lookup(ag.attrs, f, ag.host); ok {
			fc.counts[v] += n
		}
	}
	g.fields[f] = fc
	return fc
}

// track makes the engine keep the set of values field takes across agents.
func (e *Chain) track(f string) *fieldValues {
	fv, ok := e.fieldVals[f]
	if ok {
		return fv
	}
	fv = &fieldValues{vals: make(map[string]int32), ver: 1}
	for i := range e.agents {
		ag := &e.agents[i]
		if ag.removed {
			continue
		}
		if v, ok := lookup(ag.attrs, f, ag.host); ok {
			fv.vals[v]++
		}
	}
	e.fieldVals[f] = fv
	return fv
}

// intern gives cs a slot in this engine's caches.
func (e *Chain) intern(cs *Constraints) int32 {
	if cs.owner == e {
		return cs.slot
	}
	if slot, ok := e.slots[cs]; ok {
		return slot
	}
	slot := int32(len(e.sets))
	if cs.owner == nil {
		// First engine to see cs: it keeps the fast path.
		cs.owner, cs.slot = e, slot
	}
	e.slots[cs] = slot
	e.sets = append(e.sets, cs)
	e.verdicts = append(e.verdicts, nil)
	e.forever = append(e.forever, foreverMemo{})
	for _, i := range cs.countingIdx {
		if cs.List[i].Op == OpGroupBy {
			e.track(cs.List[i].Field)
		}
	}
	return slot
}

// classVerdict returns 1 when agent class passes cs's class constraints, or
// 2+i when constraint i rejects it; cached per (set, class).
func (e *Chain) classVerdict(slot int32, cs *Constraints, ag *knownAgent) uint8 {
	v := e.verdicts[slot]
	if int(ag.class) >= len(v) {
		nv := make([]uint8, len(e.classes)+8)
		copy(nv, v)
		v = nv
		e.verdicts[slot] = v
	}
	if r := v[ag.class]; r != 0 {
		return r
	}
	r := uint8(1)
	for _, i := range cs.classIdx {
		c := &cs.List[i]
		val, ok := ag.attrs[c.Field]
		if !c.static(val, ok) {
			r = uint8(2 + i)
			break
		}
	}
	v[ag.class] = r
	return r
}

// hostOK evaluates cs's hostname constraints; it returns -1 or the index
// of the failing constraint.
func hostOK(cs *Constraints, host string) int {
	for _, i := range cs.hostIdx {
		if !cs.List[i].static(host, true) {
			return i
		}
	}
	return -1
}

// countOK evaluates the counting constraints for one more instance of g on
// ag; it returns -1 or the failing constraint index and a fixed reason.
func (e *Chain) countOK(cs *Constraints, g *group, ag *knownAgent) (int, Reason) {
	for _, i := range cs.countingIdx {
		c := &cs.List[i]
		v, ok := lookup(ag.attrs, c.Field, ag.host)
		if !ok {
			return i, numReasons
		}
		fc := e.field(g, c.Field)
		n := fc.counts[v]
		switch c.Op {
		case OpUnique:
			if n > 0 {
				return i, ReasonUniqueTaken
			}
		case OpMaxPer:
			if int(n) >= c.n {
				return i, ReasonMaxPerReached
			}
		case OpCluster:
			if len(fc.counts) > 0 && n == 0 {
				return i, numReasons
			}
		case OpGroupBy:
			if n > e.minCount(c, fc) {
				return i, numReasons
			}
		}
	}
	return -1, numReasons
}

// minCount is the smallest count of g's instances over the values the
// GROUP_BY field takes on known agents (0 while fewer than the minimum
// number of groups are in use).
func (e *Chain) minCount(c *Constraint, fc *fieldCount) int32 {
	fv := e.fieldVals[c.Field]
	if fc.minValid && fc.minVer == fv.ver {
		return fc.min
	}
	m := int32(-1)
	if len(fv.vals) < c.n {
		m = 0
	} else {
		for v := range fv.vals {
			if n := fc.counts[v]; m < 0 || n < m {
				m = n
				if m == 0 {
					break
				}
			}
		}
	}
	if m < 0 {
		m = 0
	}
	fc.min, fc.minVer, fc.minValid = m, fv.ver, true
	return m
}

func (e *Chain) resetWhy(cs *Constraints) *Explanation {
	x := &e.x
	x.Evaluated = 0
	x.counts = [numReasons]int32{}
	x.cons = cs
	n := 0
	if cs != nil {
		n = len(cs.List)
	}
	if cap(x.consCounts) < n {
		x.consCounts = make([]int32, n, n+4)
	}
	x.consCounts = x.consCounts[:n]
	clear(x.consCounts)
	return x
}

func noResourceReason(avail, want Resources) Reason {
	switch {
	case !AtLeast(avail.CPUs, want.CPUs):
		return ReasonNoCPU
	case !AtLeast(avail.Mem, want.Mem):
		return ReasonNoMem
	case !AtLeast(avail.Disk, want.Disk):
		return ReasonNoDisk
	default:
		return ReasonNoGPUs
	}
}

var errNoGroup = &fielderr.FieldError{Field: "group", Msg: "UNIQUE, CLUSTER, GROUP_BY and MAX_PER count a group: it must be set"}

// Place chooses an agent for a among this cycle's open offers, consumes the
// resources (reserved first) and counts the instance in its group. The
// Result's explanation is valid until the next Place.
func (e *Chain) Place(a *Ask) Result {
	cs := a.Constraints
	if cs != nil && len(cs.List) == 0 {
		cs = nil
	}
	x := e.resetWhy(cs)
	if err := a.Resources.Validate(); err != nil {
		return Result{Code: Error, Err: err, Why: *x}
	}
	slot := int32(-1)
	if cs != nil {
		slot = e.intern(cs)
	}
	var g *group
	if cs.Counting() {
		if a.Group == "" {
			return Result{Code: Error, Err: errNoGroup, Why: *x}
		}
		g = e.group(a.Group)
	}
	key := failKey{slot: slot, group: g}
	if e.nfail > 0 {
		if fi, ok := e.fails[key]; ok && a.Resources.Covers(e.failPool[fi].res) && (g == nil || g.gen == e.failPool[fi].gen) {
			fm := &e.failPool[fi]
			x.counts = fm.counts
			copy(x.consCounts, fm.consCounts)
			return Result{Code: UnschedulableNow, Why: *x}
		}
	}

	best, found := int32(-1), 0
	bestScore := -1.0
	n := len(e.live)
	start := 0
	if n > 0 {
		start = int(e.rand() % uint64(n))
	}
	for i := 0; i < n && found < e.cfg.Limit; i++ {
		pos := start + i
		if pos >= n {
			pos -= n
		}
		idx := e.live[pos]
		ag := &e.agents[idx]
		x.Evaluated++
		if ag.silent {
			x.counts[ReasonMonitorSilent]++
			continue
		}
		avail := ag.res.Add(ag.unres)
		if !avail.Covers(a.Resources) {
			x.counts[noResourceReason(avail, a.Resources)]++
			continue
		}
		if cs != nil {
			if k := e.staticFailure(slot, cs, ag); k >= 0 {
				x.consCounts[k]++
				continue
			}
			if g != nil {
				if k, r := e.countOK(cs, g, ag); k >= 0 {
					if r < numReasons {
						x.counts[r]++
					} else {
						x.consCounts[k]++
					}
					continue
				}
			}
		}
		s := score(ag, avail, a)
		found++
		if s > bestScore {
			best, bestScore = idx, s
		}
	}
	if best < 0 {
		if n == 0 {
			x.counts[ReasonNoOffers]++
		}
		code := UnschedulableNow
		if !e.canEverFit(slot, cs, a.Resources) {
			code = UnschedulableForever
		}
		e.rememberFailure(key, a.Resources, x)
		return Result{Code: code, Why: *x}
	}
	ag := &e.agents[best]
	fromRes, fromUnres := split(ag.res, a.Resources)
	ag.res = ag.res.Sub(fromRes)
	ag.unres = ag.unres.Sub(fromUnres)
	if !e.usable(ag) {
		e.dropLive(ag)
	}
	if g == nil && a.Group != "" {
		g = e.group(a.Group)
	}
	if g != nil {
		e.bump(g, best, 1)
	}
	return Result{Code: Placed, AgentID: ag.id, Hostname: ag.host, FromReserved: fromRes, FromUnreserved: fromUnres, Why: *x}
}

// split takes want from the reserved pool first, the rest from unreserved.
func split(reserved, want Resources) (fromRes, fromUnres Resources) {
	take := func(have, w float64) (float64, float64) {
		if have <= 0 {
			return 0, w
		}
		if AtLeast(have, w) {
			return w, 0
		}
		return have, w - have
	}
	fromRes.CPUs, fromUnres.CPUs = take(reserved.CPUs, want.CPUs)
	fromRes.Mem, fromUnres.Mem = take(reserved.Mem, want.Mem)
	fromRes.Disk, fromUnres.Disk = take(reserved.Disk, want.Disk)
	fromRes.GPUs, fromUnres.GPUs = take(reserved.GPUs, want.GPUs)
	return
}

func (e *Chain) dropLive(ag *knownAgent) {
	p := ag.livePos
	last := int32(len(e.live) - 1)
	moved := e.live[last]
	e.live[p] = moved
	e.agents[moved].livePos = p
	e.live = e.live[:last]
	ag.livePos = -1
}

// score ranks a feasible agent: bin-pack prefers high utilisation after the
// placement, spread low.
func score(ag *knownAgent, avail Resources, a *Ask) float64 {
	capc := ag.capacity
	if capc.CPUs < avail.CPUs {
		capc.CPUs = avail.CPUs
	}
	if capc.Mem < avail.Mem {
		capc.Mem = avail.Mem
	}
	var u float64
	if capc.CPUs > 0 {
		u += (capc.CPUs - avail.CPUs + a.Resources.CPUs) / capc.CPUs
	}
	if capc.Mem > 0 {
		u += (capc.Mem - avail.Mem + a.Resources.Mem) / capc.Mem
	}
	u /= 2
	if a.Strategy == Spread {
		u = 1 - u
	}
	// Reserved resources of the role are used first: an agent whose
	// reserved pool covers the whole ask outranks any that does not.
	if ag.res.Covers(a.Resources) && !a.Resources.IsZero() {
		u += 1
	}
	return u
}

func (e *Chain) rememberFailure(key failKey, res Resources, x *Explanation) {
	fi, ok := e.fails[key]
	if !ok {
		fi = e.nfail
		e.nfail++
		if int(fi) >= len(e.failPool) {
			e.failPool = append(e.failPool, failMemo{})
		}
		e.fails[key] = fi
	}
	// Overwrite: a still-valid memo would have answered the lookup unless
	// this ask is smaller, and a smaller failure covers more later asks.
	fm := &e.failPool[fi]
	fm.res = res
	if key.group != nil {
		fm.gen = key.group.gen
	}
	fm.counts = x.counts
	fm.consCounts = append(fm.consCounts[:0], x.consCounts...)
}

// canEverFit reports whether some known agent passes cs's constraints that
// do not depend on counts and is big enough for res.
func (e *Chain) canEverFit(slot int32, cs *Constraints, res Resources) bool {
	var fm *foreverMemo
	if slot >= 0 {
		fm = &e.forever[slot]
		if fm.valid && fm.version == e.version && fm.res == res {
			return fm.fits
		}
	}
	fits := false
	for i := range e.agents {
		ag := &e.agents[i]
		if ag.capacity.IsZero() || !e.fitsStatically(slot, cs, ag, res) {
			continue
		}
		fits = true
		break
	}
	if fm != nil {
		*fm = foreverMemo{version: e.version, res: res, fits: fits, valid: true}
	}
	return fits
}

// fitsStatically is StaticFit on a known agent, with the attribute
// constraints' verdict cached per agent class: capacity covers res and
// no static constraint fails.
func (e *Chain) fitsStatically(slot int32, cs *Constraints, ag *knownAgent, res Resources) bool {
	return ag.capacity.Covers(res) && e.staticFailure(slot, cs, ag) < 0
}

// staticFailure is the index in cs.List of the first constraint that fails
// on ag whatever runs there (-1: none). Attribute constraints come first
// (cached per class), then hostname ones, then the fields counting
// constraints need.
func (e *Chain) staticFailure(slot int32, cs *Constraints, ag *knownAgent) int {
	if cs == nil {
		return -1
	}
	if len(cs.classIdx) > 0 {
		if v := e.classVerdict(slot, cs, ag); v > 1 {
			return int(v) - 2
		}
	}
	return hostOrFieldFailure(cs, ag.host, ag.attrs)
}

// hostOrFieldFailure is the index of the first hostname constraint that
// fails, else of the first counting constraint whose field the agent does
// not have (-1: none).
func hostOrFieldFailure(cs *Constraints, host string, attrs map[string]string) int {
	if k := hostOK(cs, host); k >= 0 {
		return k
	}
	for _, i := range cs.countingIdx {
		if _, ok := lookup(attrs, cs.List[i].Field, host); !ok {
			return i
		}
	}
	return -1
}

// StaticFit reports whether an agent could ever hold an ask of res under
// cs, whatever runs on it: its capacity covers res and it passes every
// constraint that does not depend on counts (attribute and hostname
// constraints; the fields UNIQUE, GROUP_BY, MAX_PER and CLUSTER count must
// exist). failed is the index in cs.List of the first constraint that
// fails (-1 when none does, e.g. when only capacity is short). It is the
// one static-feasibility rule: Place skips agents that fail it, an ask no
// known agent passes is UnschedulableForever, the preemption planner only
// considers agents that pass it (Chain.Feasible), and a dry-run submit can
// call it with the agents of GET /v1/agents.
func StaticFit(cs *Constraints, res Resources, ag *Agent) (fits bool, failed int) {
	failed = -1
	if cs != nil {
		for _, i := range cs.classIdx {
			c := &cs.List[i]
			v, ok := ag.Attrs[c.Field]
			if !c.static(v, ok) {
				failed = i
				break
			}
		}
		if failed < 0 {
			failed = hostOrFieldFailure(cs, ag.Hostname, ag.Attrs)
		}
	}
	return failed < 0 && ag.Capacity.Covers(res), failed
}

// Feasible reports whether hostname passes StaticFit for a (the preemption
// planner's candidate agents).
func (e *Chain) Feasible(a *Ask, hostname string) bool {
	idx, ok := e.byHost[hostname]
	if !ok {
		return false
	}
	cs := a.Constraints
	slot := int32(-1)
	if cs != nil && len(cs.List) == 0 {
		cs = nil
	}
	if cs != nil {
		slot = e.intern(cs)
	}
	return e.fitsStatically(slot, cs, &e.agents[idx], a.Resources)
}

// Silent reports whether hostname's monitor was silent at its last offer
// (unknown hosts are not silent).
func (e *Chain) Silent(hostname string) bool {
	idx, ok := e.byHost[hostname]
	return ok && e.agents[idx].silent
}

// Satisfies reports whether an agent with these attributes and hostname
// meets constraint c, ignoring counting (UNIQUE, GROUP_BY, MAX_PER and
// CLUSTER without value only need the field to exist).
func (c *Constraint) Satisfies(attrs map[string]string, hostname string) bool {
	v, ok := lookup(attrs, c.Field, hostname)
	if c.counting() {
		return ok
	}
	return c.static(v, ok)
}

// String renders c as "field OP value".
func (c *Constraint) String() string {
	return strings.TrimSpace(c.Field + " " + c.Op.String() + " " + c.Value)
}

// Open returns how many agents still have open offers in this cycle.
func (e *Chain) Open() int { return len(e.live) }
