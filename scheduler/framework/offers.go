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

// onOffers decides at once (offers are never held): pending instances are
// matched, their attempts stored as launching in batched transactions,
// then one ACCEPT per offer (= per agent and role) carries all its
// LAUNCHes; the rest is DECLINEd with a refuse filter.
func (f *Framework) onOffers(ctx context.Context, e *scheduler.Event) error {
	start := time.Now()
	offers := e.GetOffers().GetOffers()
	offersTotal.Add(float64(len(offers)))
	views := make([]engine.Offer, len(offers))
	pools := make([]*pool, len(offers))
	f.reconcilePartitioned(ctx, offerAgents(offers))
	for i := range offers {
		o := &offers[i]
		pools[i] = newPool(o.Resources)
		views[i] = engine.Offer{ID: o.ID.Value, AgentID: o.AgentID.Value, Hostname: o.Hostname,
			Role: o.GetAllocationInfo().GetRole(), Available: pools[i].available(), Attributes: attributes(o.Attributes)}
		f.overlay(&views[i], o, pools[i])
	}
	pendingBefore := 0
	if f.cfg.OfferCycle != nil || f.cfg.OfferAccepted != nil {
		pendingBefore = f.engine.PendingCount()
	}
	launches := f.engine.Plan(views)

	// Build every TaskInfo before writing anything; a launch that does not
	// carve out of its offer is forgotten.
	perOffer := make([][]mesos.TaskInfo, len(offers))
	var keep, drop []engine.Launch
	var claims []job.Attempt // work-queue launches: claims registered once stored
	for _, l := range launches {
		o := &offers[l.Offer]
		rs, ok := pools[l.Offer].take(l.Spec.Resources)
		if !ok {
			drop = append(drop, l)
			continue
		}
		ti, err := f.taskInfo(l, o.AgentID, rs)
		if err != nil {
			f.log.Error("build task info", "task", l.Attempt.TaskID(), "err", err)
			drop = append(drop, l)
			continue
		}
		perOffer[l.Offer] = append(perOffer[l.Offer], ti)
		keep = append(keep, l)
		if f.needsClaim(l.Spec) {
			claims = append(claims, l.Attempt)
		}
	}
	if len(drop) > 0 {
		f.engine.Forget(drop)
	}
	// Write before act: every attempt of the cycle is stored as launching
	// (one batched write, transactions in parallel) before any ACCEPT;
	// then one ACCEPT per offer (one agent and role), sent concurrently.
	var (
		wg       sync.WaitGroup
		declines []mesos.OfferID
		sem      = make(chan struct{}, 16)
	)
	if len(keep) > 0 {
		as := make([]job.Attempt, len(keep))
		for k := range keep {
			as[k] = keep[k].Attempt
		}
		if err := f.store.PutAttempts(ctx, as); err != nil {
			f.log.Warn("store launching attempts; declining offers", "attempts", len(as), "err", err)
			f.engine.Forget(keep)
			for i := range perOffer {
				perOffer[i] = nil
			}
		} else if len(claims) > 0 {
			f.dropUnclaimed(perOffer, f.registerClaims(claims))
		}
	}
	// Declined offers are refused briefly while placeable work is left
	// (decided once the store answered: work it refused is pending again),
	// for IdleRefuse when none is.
	refuse := f.cfg.RefuseSeconds
	if !f.engine.HasPlaceable() {
		refuse = f.cfg.IdleRefuse
	}
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
				f.cfg.OfferAccepted(time.Since(start), pendingBefore)
			}
			launchesTotal.Add(float64(len(perOffer[i])))
		}(i)
	}
	wg.Wait()
	if len(declines) > 0 {
		if err := f.act.decline(ctx, declines, refuse); err != nil {
			f.log.Warn("decline", "offers", len(declines), "err", err)
		}
	}
	f.preempt(ctx)
	pending := f.engine.HasPlaceable()
	offerDecision.Observe(time.Since(start).Seconds())
	if f.cfg.OfferCycle != nil {
		f.cfg.OfferCycle(time.Since(start), pendingBefore)
	}
	pendingGauge.Set(float64(f.engine.PendingCount()))
	if !pending {
		f.mu.Lock()
		sup := f.suppressed
		f.suppressed = true
		f.mu.Unlock()
		if !sup {
			if err := f.act.suppress(ctx); err != nil {
				f.log.Warn("suppress", "err", err)
			} else {
				suppressesTotal.Inc()
			}
			// Work may have arrived between the check and SUPPRESS.
			if f.engine.HasPlaceable() {
				f.Revive()
			}
		}
	}
	return nil
}

// dropUnclaimed takes the tasks whose queue claim could not be registered
// out of their ACCEPTs. Their attempts are stored as launching and never
// sent: reconciliation settles them (lost, requeued without a retry).
func (f *Framework) dropUnclaimed(perOffer [][]mesos.TaskInfo, failed map[string]bool) {
	if len(failed) == 0 {
		return
	}
	ids := make([]string, 0, len(failed))
	for i, tis := range perOffer {
		kept := tis[:0]
		for _, ti := range tis {
			if failed[ti.TaskID.Value] {
				ids = append(ids, ti.TaskID.Value)
				continue
			}
			kept = append(kept, ti)
		}
		perOffer[i] = kept
	}
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
