package framework

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// onOffers carries out one offer cycle (offers are never held): the
// engine decides it whole (engine.Cycle: launches per offer, declines and
// their refuse filter, suppress, one preemption), launching no more than
// the update backlog has room for (backlog.go: none at all when it is
// full, and every offer is declined briefly); here each launch is
// carved out of its offer and its TaskInfo built, the cycle's attempts are
// stored as launching in batched transactions, then one ACCEPT per offer
// (= per agent and role) carries all its LAUNCHes, the rest is DECLINEd,
// preemption victims are killed and offers suppressed.
func (f *Framework) onOffers(ctx context.Context, e *scheduler.Event) error {
	start := time.Now()
	offers := e.GetOffers().GetOffers()
	offersTotal.Add(float64(len(offers)))
	views := make([]engine.Offer, len(offers))
	pools := make([]*pool, len(offers))
	f.reconcilePartitioned(ctx, offerAgents(offers))
	room := launchRoom(f.updates.waiting(), f.cfg.MaxUpdateBacklog)
	if room == 0 {
		// The update loop is behind: more launches would only queue more
		// updates. The offers come back once their short filter ends.
		backlogDeclinesTotal.Add(float64(len(offers)))
		ids := make([]mesos.OfferID, len(offers))
		for i := range offers {
			ids[i] = offers[i].ID
		}
		if err := f.act.decline(ctx, ids, backlogRefuse); err != nil {
			f.log.Warn("decline", "offers", len(ids), "err", err)
		}
		return nil
	}
	for i := range offers {
		o := &offers[i]
		pools[i] = newPool(o.Resources)
		views[i] = engine.Offer{ID: o.ID.Value, AgentID: o.AgentID.Value, Hostname: o.Hostname,
			Role: o.GetAllocationInfo().GetRole(), Available: pools[i].available(), Attributes: attributes(o.Attributes)}
		f.overlay(&views[i], o, pools[i])
	}
	d := f.engine.Cycle(views, engine.CyclePolicy{Refuse: f.cfg.RefuseSeconds, Idle: f.cfg.IdleRefuse,
		PreemptAfter: f.cfg.PreemptAfter, PreemptReason: ReasonPreempted, MaxLaunches: room})

	// Build every TaskInfo before writing anything; a launch that does not
	// carve out of its offer is dropped and forgotten.
	perOffer := make([][]mesos.TaskInfo, len(offers))
	claims := make([][]job.Attempt, len(offers)) // work-queue launches: claims registered once stored
	if dropped := d.Drop(func(l *engine.Launch) bool {
		o := &offers[l.Offer]
		rs, ok := pools[l.Offer].take(l.Spec.Resources)
		if !ok {
			return true
		}
		ti, err := f.taskInfo(*l, o.AgentID, rs)
		if err != nil {
			f.log.Error("build task info", "task", l.Attempt.TaskID(), "err", err)
			return true
		}
		perOffer[l.Offer] = append(perOffer[l.Offer], ti)
		if f.needsClaim(l.Spec) {
			claims[l.Offer] = append(claims[l.Offer], l.Attempt)
		}
		return false
	}); len(dropped) > 0 {
		f.engine.Forget(dropped)
	}
	// Write before act: every attempt of the cycle is stored as launching
	// (one batched write, transactions in parallel) before any ACCEPT.
	if n := d.Count(); n > 0 {
		as := make([]job.Attempt, 0, n)
		for _, ls := range d.Launches {
			for k := range ls {
				as = append(as, ls[k].Attempt)
			}
		}
		if err := f.store.PutAttempts(ctx, as); err != nil {
			f.log.Warn("store launching attempts; declining offers", "attempts", len(as), "err", err)
			f.engine.Forget(d.Drop(func(*engine.Launch) bool { return true }))
			for i := range perOffer {
				perOffer[i] = nil
			}
		} else {
			recordsStoredAtLaunch.Add(float64(len(as)))
		}
	}
	f.actuateOffers(ctx, &d, offers, perOffer, claims, start)
	return nil
}

// actuateOffers sends what the cycle decided: one ACCEPT per offer with
// launches, concurrently (an offer carrying work-queue launches registers
// their claims first, claims[i]); one DECLINE of the rest; the
// preemption's KILLs; SUPPRESS once nothing placeable is left.
func (f *Framework) actuateOffers(ctx context.Context, d *engine.Decision, offers []mesos.Offer, perOffer [][]mesos.TaskInfo, claims [][]job.Attempt, start time.Time) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		declines []mesos.OfferID
		sem      = make(chan struct{}, 16)
	)
	for i := range offers {
		if len(perOffer[i]) == 0 {
			declines = append(declines, offers[i].ID)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if len(claims[i]) > 0 {
				f.dropUnclaimed(perOffer, i, f.registerClaims(claims[i]))
				if len(perOffer[i]) == 0 {
					// Every claim failed: stored, never sent
					// (reconciliation settles them).
					mu.Lock()
					declines = append(declines, offers[i].ID)
					mu.Unlock()
					return
				}
			}
			err := f.act.accept(ctx, offers[i].ID, perOffer[i], f.cfg.RefuseSeconds)
			ids := make([]string, len(perOffer[i]))
			for k := range perOffer[i] {
				ids[k] = perOffer[i][k].TaskID.Value
			}
			f.engine.MarkSent(ids)
			if err != nil {
				// The attempts stay launching; reconciliation settles them.
				f.log.Warn("accept", "offer", offers[i].ID.Value, "tasks", len(perOffer[i]), "err", err)
				return
			}
			if f.cfg.OfferAccepted != nil {
				f.cfg.OfferAccepted(time.Since(start), d.PendingBefore)
			}
			launchesTotal.Add(float64(len(perOffer[i])))
			f.work.Add(uint64(len(perOffer[i])))
		}(i)
	}
	wg.Wait()
	if len(declines) > 0 {
		if err := f.act.decline(ctx, declines, d.Refuse); err != nil {
			f.log.Warn("decline", "offers", len(declines), "err", err)
		}
	}
	f.preempt(ctx, d)
	offerDecision.Observe(time.Since(start).Seconds())
	if f.cfg.OfferCycle != nil {
		f.cfg.OfferCycle(time.Since(start), d.PendingBefore)
	}
	pendingGauge.Set(float64(d.PendingAfter))
	if d.Suppress {
		f.suppress(ctx)
	}
}

// suppress sends SUPPRESS once (until the next Revive).
func (f *Framework) suppress(ctx context.Context) {
	f.mu.Lock()
	sup := f.suppressed
	f.suppressed = true
	f.mu.Unlock()
	if sup {
		return
	}
	if err := f.act.suppress(ctx); err != nil {
		f.log.Warn("suppress", "err", err)
	} else {
		suppressesTotal.Inc()
	}
	// Work may have arrived between the decision and SUPPRESS.
	if f.engine.HasPlaceable() {
		f.Revive()
	}
}

// dropUnclaimed takes the tasks whose queue claim could not be registered
// out of offer i's ACCEPT. Their attempts are stored as launching and never
// sent: reconciliation settles them (lost, requeued without a retry).
func (f *Framework) dropUnclaimed(perOffer [][]mesos.TaskInfo, i int, failed map[string]bool) {
	if len(failed) == 0 {
		return
	}
	ids := make([]string, 0, len(failed))
	kept := perOffer[i][:0]
	for _, ti := range perOffer[i] {
		if failed[ti.TaskID.Value] {
			ids = append(ids, ti.TaskID.Value)
			continue
		}
		kept = append(kept, ti)
	}
	perOffer[i] = kept
	f.engine.MarkSent(ids)
}

func attributes(as []mesos.Attribute) map[string]string {
	if len(as) == 0 {
		return nil
	}
	m := make(map[string]string, len(as))
	for _, a := range as {
		switch a.GetType() {
		case mesos.TEXT:
			m[a.Name] = a.GetText().GetValue()
		case mesos.SCALAR:
			m[a.Name] = strconv.FormatFloat(a.GetScalar().GetValue(), 'f', -1, 64)
		default:
			m[a.Name] = a.String()
		}
	}
	return m
}
