package harvest

import (
	"sort"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/monitor"
)

// Point is one sample of a host, or the cluster's sum of its hosts' at
// one poll. Idle is capacity − business: what batch could harvest.
type Point struct {
	Time time.Time `json:"time"`
	// Hosts is how many heartbeats the point sums (1 for a host).
	Hosts     int     `json:"hosts"`
	Capacity  Amounts `json:"capacity"`
	Business  Amounts `json:"business"`
	Batch     Amounts `json:"batch"`
	Idle      Amounts `json:"idle"`
	Allowance Amounts `json:"allowance"`
	Reserved  Amounts `json:"reserved"`
	// Throttled counts the hosts whose batch cgroups were capped.
	Throttled int `json:"throttled"`
	// Evictions counts the eviction requests made since the previous point.
	Evictions int `json:"evictions"`
}

// Amounts are CPUs and memory in MB.
type Amounts struct {
	CPUs  float64 `json:"cpus"`
	MemMB float64 `json:"memMb"`
}

func (a Amounts) plus(b Amounts) Amounts {
	return Amounts{CPUs: a.CPUs + b.CPUs, MemMB: a.MemMB + b.MemMB}
}

// Limits bound a History's memory: MaxPoints per series (default 240,
// an hour at the default 15 s interval) and MaxHosts (default 1000; the
// host heard from longest ago is dropped beyond it). A point is about 150
// bytes, so the defaults bound the history near 36 MB; 50 hosts use 2 MB.
type Limits struct {
	MaxPoints int
	MaxHosts  int
}

func (l Limits) withDefaults() Limits {
	if l.MaxPoints <= 0 {
		l.MaxPoints = 240
	}
	if l.MaxHosts <= 0 {
		l.MaxHosts = 1000
	}
	return l
}

// series is a ring of at most max points, oldest first once read.
type series struct {
	pts  []Point
	next int // where the next point goes once pts is full
	max  int
}

func (s *series) add(p Point) {
	if len(s.pts) < s.max {
		s.pts = append(s.pts, p)
		return
	}
	s.pts[s.next] = p
	s.next = (s.next + 1) % s.max
}

func (s *series) last() (Point, bool) {
	if len(s.pts) == 0 {
		return Point{}, false
	}
	if len(s.pts) < s.max || s.next == 0 {
		return s.pts[len(s.pts)-1], true
	}
	return s.pts[s.next-1], true
}

// since copies the points newer than t, oldest first.
func (s *series) since(t time.Time) []Point {
	out := make([]Point, 0, len(s.pts))
	for i := range s.pts {
		p := s.pts[(s.next+i)%len(s.pts)]
		if p.Time.After(t) {
			out = append(out, p)
		}
	}
	return out
}

// History is the bounded history; safe for concurrent use.
type History struct {
	mu      sync.Mutex
	lim     Limits
	hosts   map[string]*series
	cluster series
	// evicted counts, per host, the eviction requests seen since the
	// last Record.
	evicted map[string]int
}

// New returns an empty History bounded by lim.
func New(lim Limits) *History {
	lim = lim.withDefaults()
	return &History{lim: lim, hosts: map[string]*series{}, cluster: series{max: lim.MaxPoints}, evicted: map[string]int{}}
}

// Evicted counts an eviction request of host, shown in its next point.
func (h *History) Evicted(host string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.evicted[host]; !ok && len(h.evicted) >= h.lim.MaxHosts {
		host = "" // bounded: counted for the cluster only
	}
	h.evicted[host]++
}

// pointOf turns a heartbeat into a host's point.
func pointOf(now time.Time, st monitor.Status) Point {
	am := func(cpus, mem float64) Amounts { return Amounts{CPUs: cpus, MemMB: mem} }
	p := Point{Time: now, Hosts: 1,
		Capacity:  am(st.Capacity.CPUs, st.Capacity.MemMB),
		Business:  am(st.Business.CPUs, st.Business.MemMB),
		Batch:     am(st.Batch.CPUs, st.Batch.MemMB),
		Allowance: am(st.Allowance.CPUs, st.Allowance.MemMB),
		Reserved:  am(st.Reserved.CPUs, st.Reserved.MemMB),
	}
	p.Idle = am(max(0, p.Capacity.CPUs-p.Business.CPUs), max(0, p.Capacity.MemMB-p.Business.MemMB))
	if st.Throttled {
		p.Throttled = 1
	}
	return p
}

// Record adds one poll: a point per heartbeat (by hostname; hosts
// without one get none, a gap) and the cluster's sum, with the evictions
// counted since the last Record.
func (h *History) Record(now time.Time, beats []monitor.Status) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sum := Point{Time: now}
	for _, st := range beats {
		if st.Hostname == "" {
			continue
		}
		p := pointOf(now, st)
		p.Evictions = h.evicted[st.Hostname]
		delete(h.evicted, st.Hostname)
		s := h.hosts[st.Hostname]
		if s == nil {
			s = &series{max: h.lim.MaxPoints}
			h.hosts[st.Hostname] = s
		}
		s.add(p)
		sum.Hosts++
		sum.Capacity = sum.Capacity.plus(p.Capacity)
		sum.Business = sum.Business.plus(p.Business)
		sum.Batch = sum.Batch.plus(p.Batch)
		sum.Idle = sum.Idle.plus(p.Idle)
		sum.Allowance = sum.Allowance.plus(p.Allowance)
		sum.Reserved = sum.Reserved.plus(p.Reserved)
		sum.Throttled += p.Throttled
		sum.Evictions += p.Evictions
	}
	for host, n := range h.evicted { // requests of hosts without a heartbeat now
		sum.Evictions += n
		if s := h.hosts[host]; s != nil {
			p := Point{Time: now, Evictions: n}
			s.add(p)
		}
	}
	clear(h.evicted)
	h.cluster.add(sum)
	h.prune()
}

// prune drops hosts whose newest point left the cluster's window, then
// the hosts heard from longest ago beyond MaxHosts.
func (h *History) prune() {
	oldest := time.Time{}
	if len(h.cluster.pts) == h.cluster.max {
		oldest = h.cluster.pts[h.cluster.next].Time
	}
	type hostLast struct {
		host string
		t    time.Time
	}
	var lasts []hostLast
	for host, s := range h.hosts {
		p, _ := s.last()
		if p.Time.Before(oldest) {
			delete(h.hosts, host)
			continue
		}
		lasts = append(lasts, hostLast{host, p.Time})
	}
	if len(lasts) <= h.lim.MaxHosts {
		return
	}
	sort.Slice(lasts, func(i, j int) bool {
		if !lasts[i].t.Equal(lasts[j].t) {
			return lasts[i].t.Before(lasts[j].t)
		}
		return lasts[i].host < lasts[j].host
	})
	for _, l := range lasts[:len(lasts)-h.lim.MaxHosts] {
		delete(h.hosts, l.host)
	}
}

// HostSeries is one host's points, oldest first.
type HostSeries struct {
	Hostname string  `json:"hostname"`
	Points   []Point `json:"points"`
}

// View is the body of GET /v1/harvest: camelCase keys, as everywhere in
// the API (?keys=snake gives the release before's mem_mb and
// interval_seconds, deprecated, for one release).
type View struct {
	// IntervalSeconds is how often the heartbeats are sampled.
	IntervalSeconds float64      `json:"intervalSeconds"`
	Cluster         []Point      `json:"cluster"`
	Hosts           []HostSeries `json:"hosts"`
}

// View returns the points newer than since, of the cluster and of every
// host (or only host, when not ""), hosts sorted by name.
func (h *History) View(host string, since time.Time) View {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := View{Cluster: h.cluster.since(since), Hosts: []HostSeries{}}
	for name, s := range h.hosts {
		if host != "" && name != host {
			continue
		}
		v.Hosts = append(v.Hosts, HostSeries{Hostname: name, Points: s.since(since)})
	}
	sort.Slice(v.Hosts, func(i, j int) bool { return v.Hosts[i].Hostname < v.Hosts[j].Hostname })
	return v
}

// pendingEvictions counts the eviction requests not yet in a point.
func (h *History) pendingEvictions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.evicted {
		n += c
	}
	return n
}
