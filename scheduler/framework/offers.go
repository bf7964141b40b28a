package framework

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/engine"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// onOffers decides one offer cycle (offers are never held) and hands it to
// be carried out: the engine decides it whole (engine.Cycle: launches per
// offer, declines and their refuse filter, suppress, one preemption); here
// each launch is carved out of its offer and its TaskInfo built, then
// actuateOffers stores the attempts and sends the calls while the event
// loop reads on (status updates are not held up behind a cycle's etcd
// writes). At most maxCyclesInFlight cycles are carried out at once; the
// engine holds each cycle's launches as launching, so a later cycle never
// places them again.
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
	d := f.engine.Cycle(views, engine.CyclePolicy{Refuse: f.cfg.RefuseSeconds, Idle: f.cfg.IdleRefuse,
		PreemptAfter: f.cfg.PreemptAfter, PreemptReason: ReasonPreempted})

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
	f.cycles.Add(1)
	f.cycleSlots <- struct{}{}
	go func() {
		defer f.cycles.Done()
		defer func() { <-f.cycleSlots }()
		f.actuateOffers(ctx, &d, offers, perOffer, claims, start)
	}()
	return nil
}

// maxCyclesInFlight bounds the offer cycles being carried out (stored and
// accepted) at once; the event loop waits for a slot.
const maxCyclesInFlight = 2

// storeGroups splits the offers with launches into groups whose attempts
// are stored in one write each, in offer order: whole offers, at most
// store.MaxOpsPerTxn attempts a group unless one offer alone has more (it
// is a group of its own, which the store splits).
func storeGroups(perOffer [][]mesos.TaskInfo) [][]int {
	var (
		groups [][]int
		cur    []int
		n      int
	)
	for i, ts := range perOffer {
		if len(ts) == 0 {
			continue
		}
		if len(cur) > 0 && n+len(ts) > store.MaxOpsPerTxn {
			groups = append(groups, cur)
			cur, n = nil, 0
		}
		cur = append(cur, i)
		n += len(ts)
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// actuateOffers carries out a decided cycle. Write before act: the
// attempts are stored as launching in groups of offers (storeGroups,
// store.TxnConcurrency writes in flight), and each offer's ACCEPT,
// carrying all its LAUNCHes, is sent as soon as its group is stored (an
// offer carrying work-queue launches registers their claims first,
// claims[i]); a group that cannot be stored is dropped and forgotten and
// its offers declined. Then one DECLINE of the offers not accepted, the
// preemption's KILLs, and SUPPRESS once nothing placeable is left.
func (f *Framework) actuateOffers(ctx context.Context, d *engine.Decision, offers []mesos.Offer, perOffer [][]mesos.TaskInfo, claims [][]job.Attempt, start time.Time) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed = map[int]bool{} // offers whose attempts were not stored
		sent   = make([]bool, len(offers))
		writes = make(chan struct{}, store.TxnConcurrency)
		sends  = make(chan struct{}, 16)
	)
	byOffer := make([][]job.Attempt, len(offers))
	for _, ls := range d.Launches {
		for k := range ls {
			byOffer[ls[k].Offer] = append(byOffer[ls[k].Offer], ls[k].Attempt)
		}
	}
	accept := func(i int) {
		defer wg.Done()
		defer func() { <-sends }()
		if len(claims[i]) > 0 {
			f.dropUnclaimed(perOffer, i, f.registerClaims(claims[i]))
			if len(perOffer[i]) == 0 {
				return // every claim failed: stored, never sent (reconciliation settles them)
			}
		}
		sent[i] = true
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
	}
	for _, g := range storeGroups(perOffer) {
		var as []job.Attempt
		for _, i := range g {
			as = append(as, byOffer[i]...)
		}
		wg.Add(1)
		writes <- struct{}{}
		go func() {
			defer wg.Done()
			err := f.store.PutAttempts(ctx, as)
			<-writes
			if err != nil {
				f.log.Warn("store launching attempts; declining their offers", "attempts", len(as), "err", err)
				mu.Lock()
				for _, i := range g {
					failed[i] = true
				}
				mu.Unlock()
				return
			}
			for _, i := range g {
				wg.Add(1)
				sends <- struct{}{}
				go accept(i)
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		f.engine.Forget(d.Drop(func(l *engine.Launch) bool { return failed[l.Offer] }))
		f.Revive() // another cycle may have suppressed meanwhile
	}
	var declines []mesos.OfferID
	for i := range offers {
		if !sent[i] {
			declines = append(declines, offers[i].ID)
		}
	}
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
