package master

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// allocate makes one allocation run: for each agent with free resources, it
// offers them to connected frameworks in round-robin order, one offer per
// (framework, role, agent), skipping suppressed roles and refused agents.
// All offers of a run to one framework go out in one OFFERS event.
func (m *Master) allocate() {
	m.mu.Lock()
	defer m.unlock()
	if m.closed {
		return
	}
	m.stats.allocationRuns++
	var fws []*framework
	for _, fw := range m.fwOrder {
		if fw.connected() {
			fws = append(fws, fw)
		}
	}
	if len(fws) == 0 {
		return
	}
	now := time.Now()
	batches := map[*framework][]mesos.Offer{}
	m.rotate++
	for ai, a := range m.agentOrder {
		if a.gone || len(a.available) == 0 || !hasMinimum(a.available) {
			continue
		}
		start := (m.rotate + ai) % len(fws)
		for i := range fws {
			fw := fws[(start+i)%len(fws)]
			for _, role := range fw.roles {
				if fw.suppressed[role] {
					continue
				}
				res := allocatableTo(a.available, role)
				if !fw.refinement {
					res = withoutRefined(res)
				}
				if len(res) == 0 || !hasMinimum(res) {
					continue
				}
				key := filterKey{role, a.id}
				if f := fw.filters[key]; f != nil {
					if now.Before(f.until) && contains(f.resources, res) {
						continue
					}
					delete(fw.filters, key)
				}
				o := &offer{id: m.nextOfferID(), fw: fw, agent: a, role: role, resources: res.Clone()}
				a.available.Subtract(res...)
				m.offers[o.id] = o
				fw.offers[o.id] = o
				a.offers[o.id] = o
				batches[fw] = append(batches[fw], m.renderOffer(o))
				m.stats.offersSent++
				if len(a.available) == 0 || !hasMinimum(a.available) {
					break
				}
			}
		}
	}
	for fw, offers := range batches {
		fw.send(&scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: offers}})
	}
}

// withoutRefined drops resources with refined (multi-level) reservations,
// which frameworks without RESERVATION_REFINEMENT never see.
func withoutRefined(rs mesos.Resources) mesos.Resources {
	for _, r := range rs {
		if len(r.Reservations) > 1 {
			var out mesos.Resources
			for _, r := range rs {
				if len(r.Reservations) <= 1 {
					out = append(out, r)
				}
			}
			return out
		}
	}
	return rs
}

// renderOffer builds the Offer message a framework receives.
func (m *Master) renderOffer(o *offer) mesos.Offer {
	fw, a := o.fw, o.agent
	off := mesos.Offer{
		ID:          mesos.OfferID{Value: o.id},
		FrameworkID: mesos.FrameworkID{Value: fw.id},
		AgentID:     mesos.AgentID{Value: a.id},
		Hostname:    a.info.Hostname,
		Resources:   forFramework(o.resources, o.role, fw.multiRole, fw.refinement),
		Attributes:  a.info.Attributes,
		Domain:      a.info.Domain,
	}
	if fw.multiRole {
		role := o.role
		off.AllocationInfo = &mesos.Resource_AllocationInfo{Role: &role}
	}
	for k := range a.executors {
		if k.framework == fw.id {
			off.ExecutorIDs = append(off.ExecutorIDs, mesos.ExecutorID{Value: k.executor})
		}
	}
	if a.info.Port != nil {
		host := a.info.Hostname
		addr := mesos.Address{Hostname: &host, Port: a.info.GetPort()}
		if a.ip != "" {
			ip := a.ip
			addr.IP = &ip
		}
		off.URL = &mesos.URL{Scheme: "http", Address: addr, Path: strp("/slave(1)")}
	}
	return off
}

func strp(s string) *string { return &s }

// removeOffer forgets an offer and gives its resources back to the agent.
func (m *Master) removeOffer(o *offer) {
	delete(m.offers, o.id)
	delete(o.fw.offers, o.id)
	delete(o.agent.offers, o.id)
	if !o.agent.gone {
		o.agent.available.Add(o.resources...)
	}
}

// rescind removes an offer and tells its framework.
func (m *Master) rescind(o *offer) {
	m.removeOffer(o)
	m.stats.offersRescinded++
	o.fw.send(&scheduler.Event{Type: scheduler.Event_RESCIND, Rescind: &scheduler.Event_Rescind{OfferID: mesos.OfferID{Value: o.id}}})
}

// refuse installs a refuse filter for (framework, role, agent).
func (m *Master) refuse(fw *framework, role string, a *agent, rs mesos.Resources, filters *mesos.Filters) {
	secs := 5.0
	if filters != nil && filters.RefuseSeconds != nil {
		secs = filters.GetRefuseSeconds()
		if secs < 0 {
			secs = 5
		}
	}
	if secs == 0 || len(rs) == 0 {
		return
	}
	if secs > 31536000 {
		secs = 31536000
	}
	d := time.Duration(secs * float64(time.Second))
	if d < m.cfg.AllocationInterval {
		d = m.cfg.AllocationInterval
	}
	key := filterKey{role, a.id}
	f := fw.filters[key]
	if f == nil || time.Now().After(f.until) {
		f = &refuseFilter{}
		fw.filters[key] = f
	}
	f.until = time.Now().Add(d)
	f.resources.Add(rs...)
}
