package attrs

import (
	"context"
	"fmt"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// TestAttributeEditDrivesPlacement runs the whole path the scheduler will
// wire up, minus Mesos: an attribute set over HTTP reaches the watcher,
// offers are overlaid with it, a constrained task lands only there;
// removing it makes the running instances violate, they are moved at a
// bounded rate and go where the attribute now is.
func TestAttributeEditDrivesPlacement(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := NewWatcher(e.store, nil)
	go w.Run(ctx)
	select {
	case <-w.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("watcher not ready")
	}
	awaitAttr := func(host, key, want string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for w.Attrs(host)[key] != want {
			select {
			case <-w.Changed():
			case <-time.After(20 * time.Millisecond):
			case <-deadline:
				t.Fatalf("watcher: %s %s never became %q", host, key, want)
			}
		}
	}

	offer := func(host, zone string) mesos.Offer {
		cpus, mem := mesos.SCALAR, mesos.SCALAR
		return mesos.Offer{ID: mesos.OfferID{Value: "o-" + host}, AgentID: mesos.AgentID{Value: "id-" + host}, Hostname: host,
			Attributes: []mesos.Attribute{{Name: "zone", Type: mesos.TEXT, Text: &mesos.Value_Text{Value: zone}}},
			Resources: []mesos.Resource{
				{Name: "cpus", Type: &cpus, Scalar: &mesos.Value_Scalar{Value: 8}},
				{Name: "mem", Type: &mem, Scalar: &mesos.Value_Scalar{Value: 8192}},
			}}
	}
	offers := []mesos.Offer{offer("h1", "a"), offer("h2", "b"), offer("h3", "c")}
	mesosAttrs := map[string]map[string]string{}
	for _, o := range offers {
		mesosAttrs[o.Hostname] = placement.MesosAttrs(o.Attributes)
	}
	engine := placement.NewChain(placement.Config{Limit: 3})
	cycle := func() {
		engine.BeginCycle()
		for _, o := range offers {
			a := placement.FromOffer(o, w.Attrs(o.Hostname), "batch")
			engine.Offer(&a)
		}
	}
	merged := func() map[string]map[string]string {
		out := map[string]map[string]string{}
		for h, m := range mesosAttrs {
			out[h] = placement.MergeAttrs(m, w.Attrs(h))
		}
		return out
	}

	// 1. gpu=yes on h2 over HTTP: gpu tasks land only there.
	if code, m := e.do(t, "PATCH", "/v1/agents/h2/attributes?allow-unknown=true", "s3cret", `{"gpu":"yes"}`); code != 200 {
		t.Fatalf("patch %d %v", code, m)
	}
	awaitAttr("h2", "gpu", "yes")
	gpu := placement.MustParseConstraints([]string{"gpu", "EXISTS"})
	var running []Instance
	cycle()
	for i := 0; i < 3; i++ {
		a := &placement.Ask{Key: fmt.Sprint("train.", i), Group: "train", Resources: placement.Resources{CPUs: 1, Mem: 256}, Constraints: gpu}
		r := engine.Place(a)
		if r.Code != placement.Placed || r.Hostname != "h2" {
			t.Fatalf("gpu task %d: %v on %q (%s)", i, r.Code, r.Hostname, r.Why.String())
		}
		running = append(running, Instance{Key: a.Key, Group: a.Group, Hostname: r.Hostname, Constraints: gpu, Started: time.Unix(int64(i), 0)})
	}
	if v := Violations(running, merged()); len(v) != 0 {
		t.Fatalf("violations before the edit: %v", v)
	}

	// 2. The attribute moves from h2 to h3: every instance violates, and
	// they are moved two at a time.
	if code, _ := e.do(t, "DELETE", "/v1/agents/h2/attributes/gpu", "s3cret", ""); code != 200 {
		t.Fatal(code)
	}
	if code, _ := e.do(t, "PUT", "/v1/agents/h3/attributes?allow-unknown=true", "s3cret", `{"gpu":"yes"}`); code != 200 {
		t.Fatal(code)
	}
	awaitAttr("h2", "gpu", "")
	awaitAttr("h3", "gpu", "yes")
	viol := Violations(running, merged())
	if len(viol) != 3 || viol[0].Constraint != "gpu EXISTS" {
		t.Fatalf("violations %v", viol)
	}
	limiter := NewMoveLimiter(1, 2)
	now := time.Unix(100, 0)
	moved := 0
	for moved < len(viol) {
		n := limiter.Take(now, len(viol)-moved)
		if moved == 0 && n != 2 {
			t.Fatalf("first batch %d, want the burst of 2", n)
		}
		cycle()
		for _, v := range viol[moved : moved+n] {
			engine.RemoveRunning(v.Instance.Group, v.Instance.Hostname) // killed, requeued
			r := engine.Place(&placement.Ask{Key: v.Instance.Key, Group: v.Instance.Group, Resources: placement.Resources{CPUs: 1, Mem: 256}, Constraints: gpu})
			if r.Code != placement.Placed || r.Hostname != "h3" {
				t.Fatalf("moved %s: %v on %q", v.Instance.Key, r.Code, r.Hostname)
			}
		}
		moved += n
		now = now.Add(time.Second)
	}

	// 3. UNIQUE spreads one per host.
	cycle()
	uniq := placement.MustParseConstraints([]string{"hostname", "UNIQUE"})
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		r := engine.Place(&placement.Ask{Group: "u", Resources: placement.Resources{CPUs: 1, Mem: 64}, Constraints: uniq})
		if r.Code != placement.Placed || seen[r.Hostname] {
			t.Fatalf("unique %d: %v on %s", i, r.Code, r.Hostname)
		}
		seen[r.Hostname] = true
	}
	if r := engine.Place(&placement.Ask{Group: "u", Resources: placement.Resources{CPUs: 1, Mem: 64}, Constraints: uniq}); r.Code != placement.UnschedulableNow || r.Why.Count(placement.ReasonUniqueTaken) != 3 {
		t.Fatalf("fourth unique: %v %s", r.Code, r.Why.String())
	}

	// 4. GROUP_BY balances across zones as etcd overrides them: h3 joins
	// zone a, so six instances split 3/3 between zones a and b.
	if code, _ := e.do(t, "PATCH", "/v1/agents/h3/attributes?allow-unknown=true", "s3cret", `{"zone":"a"}`); code != 200 {
		t.Fatal(code)
	}
	awaitAttr("h3", "zone", "a")
	cycle()
	gb := placement.MustParseConstraints([]string{"zone", "GROUP_BY"})
	zones := map[string]int{}
	for i := 0; i < 6; i++ {
		r := engine.Place(&placement.Ask{Group: "g", Resources: placement.Resources{CPUs: 0.5, Mem: 64}, Constraints: gb})
		if r.Code != placement.Placed {
			t.Fatalf("group_by %d: %v %s", i, r.Code, r.Why.String())
		}
		zones[merged()[r.Hostname]["zone"]]++
	}
	if zones["a"] != 3 || zones["b"] != 3 {
		t.Fatalf("zones %v", zones)
	}
}
