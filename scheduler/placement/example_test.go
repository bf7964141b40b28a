package placement_test

import (
	"fmt"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// Example shows one offer cycle as the scheduler runs it: offers in,
// pending asks in fair order, placements out (with the offer's resources
// carved for LAUNCH), and "why pending" for the rest.
func Example() {
	scalar := func(name string, v float64) mesos.Resource {
		t := mesos.SCALAR
		return mesos.Resource{Name: name, Type: &t, Scalar: &mesos.Value_Scalar{Value: v}}
	}
	offer := mesos.Offer{ID: mesos.OfferID{Value: "o1"}, AgentID: mesos.AgentID{Value: "a1"}, Hostname: "node-1",
		Attributes: []mesos.Attribute{{Name: "rack", Type: mesos.TEXT, Text: &mesos.Value_Text{Value: "r1"}}},
		Resources:  []mesos.Resource{scalar("cpus", 4), scalar("mem", 4096)}}
	etcdAttrs := map[string]string{"zone": "eu-1"} // from attrs.Watcher.Attrs("node-1")

	// Built once, for the scheduler's lifetime.
	chain := placement.NewChain(placement.Config{})
	fair := placement.NewFair(placement.FairConfig{Total: placement.Resources{CPUs: 4, Mem: 4096}})

	// Constraints are compiled once per task, at submit.
	inZone, _ := placement.ParseConstraints([][]string{{"zone", "IS", "eu-1"}, {"hostname", "UNIQUE"}})
	inUS, _ := placement.ParseConstraints([][]string{{"zone", "IS", "us-1"}})
	pending := []*placement.Ask{
		{Key: "etl.extract.0", Group: "etl/extract", Resources: placement.Resources{CPUs: 1, Mem: 512}, Constraints: inZone, User: "ann", Seq: 1},
		{Key: "etl.extract.1", Group: "etl/extract", Resources: placement.Resources{CPUs: 1, Mem: 512}, Constraints: inZone, User: "ann", Seq: 2},
		{Key: "web.probe.0", Group: "web/probe", Resources: placement.Resources{CPUs: 1, Mem: 64}, Constraints: inUS, User: "bob", Seq: 3},
	}

	// One cycle.
	chain.BeginCycle()
	agent := placement.FromOffer(offer, etcdAttrs, "batch")
	chain.Offer(&agent)
	carver := placement.NewCarver(&offer, "batch")
	fair.Reset(pending)
	for a := fair.Next(); a != nil; a = fair.Next() {
		r := chain.Place(a)
		switch r.Code {
		case placement.Placed:
			fair.Placed(a)
			res, _ := carver.Take(r.FromReserved, r.FromUnreserved)
			fmt.Printf("%s on %s with %d resources\n", a.Key, r.Hostname, len(res))
		default:
			fmt.Printf("%s %s: %s\n", a.Key, r.Code, r.Why.String())
		}
	}
	// Output:
	// etl.extract.0 on node-1 with 2 resources
	// web.probe.0 unschedulable-forever: constraint zone IS us-1: 1
	// etl.extract.1 unschedulable: unique taken: 1
}
