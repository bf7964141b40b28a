package localmesos

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/apierrors"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpmaster"
	"github.com/mesos/mesos-go/api/v1/lib/master"
	mcalls "github.com/mesos/mesos-go/api/v1/lib/master/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

func operator(c *Cluster, codec encoding.Codec, opts ...httpcli.ConfigOpt) mcalls.Sender {
	opts = append(opts, httpcli.Timeout(10*time.Second))
	return httpmaster.NewSender(httpcli.New(
		httpcli.Endpoint(c.MasterURL()+"/api/v1"), httpcli.Codec(codec), httpcli.Do(httpcli.With(opts...))).Send)
}

func get(t *testing.T, s mcalls.Sender, call *master.Call) *master.Response {
	t.Helper()
	resp, err := s.Send(context.Background(), mcalls.NonStreaming(call))
	if err != nil {
		t.Fatalf("%s: %v", call.Type, err)
	}
	defer resp.Close()
	var r master.Response
	if err := resp.Decode(&r); err != nil {
		t.Fatalf("%s: decode: %v", call.Type, err)
	}
	return &r
}

func noData(s mcalls.Sender, call *master.Call) error {
	return mcalls.SendNoData(context.Background(), s, mcalls.NonStreaming(call))
}

func cpus(v float64, reservations ...mesos.Resource_ReservationInfo) mesos.Resource {
	return mesos.Resource{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}, Reservations: reservations}
}

func dynamic(role string) mesos.Resource_ReservationInfo {
	return mesos.Resource_ReservationInfo{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: &role, Principal: ptrS("ops")}
}

func ptrS(s string) *string { return &s }

func multiRole(refine bool, roles ...string) mesos.FrameworkInfo {
	caps := []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE}}
	if refine {
		caps = append(caps, mesos.FrameworkInfo_Capability{Type: mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT})
	}
	return mesos.FrameworkInfo{Roles: roles, Capabilities: caps}
}

func TestOperatorReserveUnreserve(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 1, Resources: "cpus:4;mem:1024"})
		op := operator(c, codec)
		agents := get(t, op, mcalls.GetAgents()).GetAgents.Agents
		if len(agents) != 1 {
			t.Fatalf("GET_AGENTS: %d agents", len(agents))
		}
		aid := *agents[0].AgentInfo.ID
		if agents[0].AgentInfo.Hostname != "local-agent-1" {
			t.Errorf("hostname %q", agents[0].AgentInfo.Hostname)
		}
		// A framework holding every offer: the reserve must rescind it.
		plain := startFramework(t, c, codec, mesos.FrameworkInfo{})
		i := 0
		held := plain.awaitOffers(&i)[0]
		if err := noData(op, mcalls.ReserveResources(aid, cpus(1, dynamic("eng")))); err != nil {
			t.Fatalf("RESERVE_RESOURCES: %v", err)
		}
		plain.await(&i, "RESCIND", func(e *scheduler.Event) bool {
			return e.Type == scheduler.Event_RESCIND && e.Rescind.OfferID == held.ID
		})
		// GET_AGENTS lists the reservation with both formats.
		var found bool
		for _, r := range get(t, op, mcalls.GetAgents()).GetAgents.Agents[0].TotalResources {
			if r.Name == "cpus" && len(r.Reservations) == 1 && r.GetRole() == "eng" && r.Reservation != nil {
				found = true
			}
		}
		if !found {
			t.Errorf("GET_AGENTS total_resources lack the eng reservation in both formats")
		}
		// Reserved resources go only to eng, in the refinement format.
		eng := startFramework(t, c, codec, multiRole(true, "eng"))
		j := 0
		o := eng.awaitOffers(&j)[0]
		if o.AllocationInfo == nil || o.AllocationInfo.GetRole() != "eng" {
			t.Errorf("offer allocation info %v, want eng", o.AllocationInfo)
		}
		var reserved float64
		for _, r := range o.Resources {
			if r.AllocationInfo.GetRole() != "eng" || r.Role != nil {
				t.Errorf("refinement offer resource %s: allocation %v role %v", r.Name, r.AllocationInfo, r.Role)
			}
			if len(r.Reservations) == 1 && r.Reservations[0].GetRole() == "eng" {
				reserved += r.GetScalar().GetValue()
			}
		}
		if reserved != 1 {
			t.Errorf("eng offer has %v reserved cpus, want 1: %v", reserved, o.Resources)
		}
		// Unreserving more than is reserved → 409, unknown agent → 400,
		// allocation_info → 400.
		err := noData(op, mcalls.UnreserveResources(aid, cpus(2, dynamic("eng"))))
		if !apierrors.Code(409).Matches(err) {
			t.Errorf("over-unreserve: %v, want 409", err)
		}
		eng.await(&j, "RESCIND of eng offer", func(e *scheduler.Event) bool {
			return e.Type == scheduler.Event_RESCIND && e.Rescind.OfferID == o.ID
		})
		if err := noData(op, mcalls.ReserveResources(mesos.AgentID{Value: "nope"}, cpus(1, dynamic("eng")))); !apierrors.Code(400).Matches(err) {
			t.Errorf("reserve on unknown agent: %v, want 400", err)
		}
		withAlloc := cpus(1, dynamic("eng"))
		withAlloc.AllocationInfo = &mesos.Resource_AllocationInfo{Role: ptrS("eng")}
		if err := noData(op, mcalls.ReserveResources(aid, withAlloc)); !apierrors.Code(400).Matches(err) {
			t.Errorf("reserve with allocation_info: %v, want 400", err)
		}
		// Reserving more than the agent has → 409.
		if err := noData(op, mcalls.ReserveResources(aid, cpus(100, dynamic("eng")))); !apierrors.Code(409).Matches(err) {
			t.Errorf("over-reserve: %v, want 409", err)
		}
		// Partial unreserve is allowed.
		if err := noData(op, mcalls.UnreserveResources(aid, cpus(0.5, dynamic("eng")))); err != nil {
			t.Errorf("partial unreserve: %v", err)
		}
		// Reserved resources in use cannot be unreserved.
		o = eng.awaitOffers(&j)[0]
		task := mesos.TaskInfo{Name: "r", TaskID: mesos.TaskID{Value: "uses-reserved"}, AgentID: o.AgentID,
			Command: &mesos.CommandInfo{Value: ptrS("sleep")}}
		for _, r := range o.Resources {
			if r.Name == "cpus" && len(r.Reservations) == 1 {
				task.Resources = append(task.Resources, r) // all 0.5 reserved cpus
			}
		}
		eng.Call(calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(o.ID)))
		eng.await(&j, "task on reserved cpus", mesostest.IsUpdate("uses-reserved", mesos.TASK_RUNNING))
		if err := noData(op, mcalls.UnreserveResources(aid, cpus(0.5, dynamic("eng")))); !apierrors.Code(409).Matches(err) {
			t.Errorf("unreserve of used resources: %v, want 409", err)
		}
		// GET_ROLES lists eng with its framework and allocation.
		var engRole *mesos.Role
		for _, r := range get(t, op, mcalls.GetRoles()).GetRoles.Roles {
			if r.Name == "eng" {
				r := r
				engRole = &r
			}
		}
		if engRole == nil || len(engRole.Frameworks) != 1 || len(engRole.Resources) == 0 {
			t.Errorf("GET_ROLES eng: %+v", engRole)
		}
	})
}

func TestSchedulerReserveAndFormats(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 1, Resources: "cpus:4;mem:1024"})
		// MULTI_ROLE without refinement: pre-refinement format plus allocation info.
		f := startFramework(t, c, codec, multiRole(false, "eng"))
		i := 0
		o := f.awaitOffers(&i)[0]
		for _, r := range o.Resources {
			if r.GetRole() != "*" || r.AllocationInfo.GetRole() != "eng" || len(r.Reservations) != 0 {
				t.Errorf("pre-refinement offer resource %+v", r)
			}
		}
		// RESERVE then LAUNCH on the just-reserved resources in one ACCEPT;
		// the pre-refinement format is accepted in operations.
		res := mesos.Resource{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 1},
			Role: ptrS("eng"), Reservation: &mesos.Resource_ReservationInfo{}}
		task := mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "on-reserved"}, AgentID: o.AgentID,
			Command: &mesos.CommandInfo{Value: ptrS("sleep")}, Resources: []mesos.Resource{res}}
		f.Call(calls.Accept(calls.OfferOperations{calls.OpReserve(res), calls.OpLaunch(task)}.WithOffers(o.ID)))
		f.await(&i, "task on reserved", mesostest.IsUpdate("on-reserved", mesos.TASK_RUNNING))
		// UNRESERVE part of an offered reservation.
		j := i
		f.Call(calls.Kill("on-reserved", o.AgentID.Value))
		f.await(&i, "killed", mesostest.IsUpdate("on-reserved", mesos.TASK_KILLED))
		var got *mesos.Resource
		for got == nil {
			for _, x := range f.awaitOffers(&j) {
				for _, r := range x.Resources {
					if r.Name == "cpus" && r.GetRole() == "eng" {
						r := r
						got = &r
						o = x
					}
				}
			}
		}
		if got.Reservation == nil {
			t.Errorf("dynamic reservation lacks 'reservation' in pre-refinement format: %+v", got)
		}
		f.Call(calls.Accept(calls.OfferOperations{calls.OpUnreserve(*got)}.WithOffers(o.ID)))
		waitFor(t, "reservation gone", func() bool {
			for _, r := range get(t, operator(c, codec), mcalls.GetAgents()).GetAgents.Agents[0].TotalResources {
				if len(r.Reservations) > 0 {
					return false
				}
			}
			return true
		})
	})
}

func TestOperatorReads(t *testing.T) {
	forEachCodec(t, func(t *testing.T, codec encoding.Codec) {
		c := startCluster(t, Config{Agents: 2, Attributes: "rack:r1"})
		f, o, _ := launchLong(t, c, codec, mesos.FrameworkInfo{})
		op := operator(c, codec)
		if !get(t, op, mcalls.GetHealth()).GetHealth.Healthy {
			t.Errorf("GET_HEALTH not healthy")
		}
		if v := get(t, op, mcalls.GetVersion()).GetVersion.VersionInfo.Version; v == "" {
			t.Errorf("GET_VERSION empty")
		}
		if mi := get(t, op, mcalls.GetMaster()).GetMaster.MasterInfo; mi == nil || mi.ID != c.Master().ID() {
			t.Errorf("GET_MASTER: %+v", mi)
		}
		st := get(t, op, mcalls.GetState()).GetState
		if len(st.GetAgents.Agents) != 2 || len(st.GetFrameworks.Frameworks) != 1 || len(st.GetTasks.Tasks) != 1 {
			t.Errorf("GET_STATE: %d agents %d frameworks %d tasks", len(st.GetAgents.Agents), len(st.GetFrameworks.Frameworks), len(st.GetTasks.Tasks))
		}
		fws := get(t, op, mcalls.GetFrameworks()).GetFrameworks.Frameworks
		if len(fws) != 1 || fws[0].FrameworkInfo.ID.Value != f.ID() || !fws[0].Connected {
			t.Errorf("GET_FRAMEWORKS: %+v", fws)
		}
		tasks := get(t, op, mcalls.GetTasks()).GetTasks.Tasks
		if len(tasks) != 1 || tasks[0].GetState() != mesos.TASK_RUNNING || tasks[0].AgentID != o.AgentID {
			t.Errorf("GET_TASKS: %+v", tasks)
		}
		get(t, op, mcalls.GetExecutors())
		get(t, op, mcalls.GetRoles())
		// Unknown / unsupported types → 400.
		code, _, _ := rawPost(t, c.MasterURL()+"/api/v1", "application/json", "", "", []byte(`{"type":"GET_QUOTA"}`))
		if code != 400 {
			t.Errorf("unsupported operator call: %d, want 400", code)
		}
		// TEARDOWN via the operator API ends the framework's stream.
		if err := noData(op, mcalls.Teardown(mesos.FrameworkID{Value: f.ID()})); err != nil {
			t.Errorf("TEARDOWN: %v", err)
		}
		waitFor(t, "framework removed", func() bool {
			return len(get(t, op, mcalls.GetFrameworks()).GetFrameworks.Frameworks) == 0
		})
	})
}

func TestLegacyEndpoints(t *testing.T) {
	c := startCluster(t, Config{Agents: 1, Attributes: "rack:r1"})
	f := startFramework(t, c, protobufCodec, mesos.FrameworkInfo{})
	i := 0
	f.awaitOffers(&i)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/redirect", "/master/redirect"} {
		resp, err := noRedirect.Get(c.MasterURL() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 307 || resp.Header.Get("Location") != "//"+c.MasterAddr() {
			t.Errorf("%s: %d Location %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, err := http.Get(c.MasterURL() + "/master/health")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/master/health: %v %v", resp, err)
	}
	resp.Body.Close()
	var metrics map[string]float64
	getJSON(t, c.MasterURL()+"/metrics/snapshot", &metrics)
	for _, name := range []string{"master/elected", "master/frameworks_active", "master/slaves_active", "master/tasks_running", "master/cpus_total", "master/outstanding_offers"} {
		if _, ok := metrics[name]; !ok {
			t.Errorf("/metrics/snapshot lacks %s", name)
		}
	}
	if metrics["master/slaves_active"] != 1 || metrics["master/frameworks_active"] != 1 || metrics["master/cpus_total"] != 4 {
		t.Errorf("metrics: slaves %v frameworks %v cpus %v", metrics["master/slaves_active"], metrics["master/frameworks_active"], metrics["master/cpus_total"])
	}
	aid := c.Agents()[0].ID().Value
	form := url.Values{"slaveId": {aid}, "resources": {`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"eng","reservation":{"principal":"ops"}}]`}}
	for _, p := range []string{"/master/reserve", "/master/unreserve"} {
		resp, err := http.PostForm(c.MasterURL()+p, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Errorf("%s: %d, want 202", p, resp.StatusCode)
		}
	}
	resp, err = http.PostForm(c.MasterURL()+"/master/reserve", url.Values{"slaveId": {"nope"}, "resources": form["resources"]})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("reserve on unknown agent: %d, want 400", resp.StatusCode)
	}
	var state struct {
		Frameworks []struct {
			ID string `json:"id"`
		} `json:"frameworks"`
		Slaves []struct {
			ID                    string         `json:"id"`
			Hostname              string         `json:"hostname"`
			Attributes            map[string]any `json:"attributes"`
			Resources             map[string]any `json:"resources"`
			ReservedResourcesFull map[string]any `json:"reserved_resources_full"`
		} `json:"slaves"`
	}
	getJSON(t, c.MasterURL()+"/master/state", &state)
	if len(state.Frameworks) != 1 || len(state.Slaves) != 1 || state.Slaves[0].Hostname != "local-agent-1" ||
		state.Slaves[0].Attributes["rack"] != "r1" || state.Slaves[0].Resources["ports"] != "[31000-32000]" {
		t.Errorf("/master/state: %+v", state)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}

func TestBasicAuth(t *testing.T) {
	c := startCluster(t, Config{Agents: 1, Credentials: map[string]string{"ops": "secret"}})
	code, _, hdr := rawPost(t, c.MasterURL()+"/api/v1", "application/json", "", "", []byte(`{"type":"GET_HEALTH"}`))
	if code != 401 || !strings.Contains(hdr.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("unauthenticated operator call: %d %q", code, hdr.Get("WWW-Authenticate"))
	}
	if code, _, _ := rawPost(t, c.MasterURL()+"/api/v1/scheduler", "application/json", "", "", []byte(`{"type":"SUBSCRIBE"}`)); code != 401 {
		t.Errorf("unauthenticated scheduler call: %d, want 401", code)
	}
	op := operator(c, protobufCodec, httpcli.BasicAuth("ops", "secret"))
	if !get(t, op, mcalls.GetHealth()).GetHealth.Healthy {
		t.Errorf("authenticated GET_HEALTH failed")
	}
	bad := operator(c, protobufCodec, httpcli.BasicAuth("ops", "wrong"))
	if _, err := bad.Send(context.Background(), mcalls.NonStreaming(mcalls.GetHealth())); err == nil {
		t.Errorf("wrong password accepted")
	}
}

func TestReservationsSurviveRestarts(t *testing.T) {
	c := startRealCluster(t, Config{Agents: 1, Simulated: true})
	op := operator(c, protobufCodec)
	aid := c.Agents()[0].ID()
	if err := noData(op, mcalls.ReserveResources(aid, cpus(1, dynamic("eng")))); err != nil {
		t.Fatalf("RESERVE_RESOURCES: %v", err)
	}
	reserved := func() bool {
		agents := get(t, op, mcalls.GetAgents()).GetAgents.Agents
		if len(agents) != 1 {
			return false
		}
		for _, r := range agents[0].TotalResources {
			if len(r.Reservations) == 1 && r.Reservations[0].GetRole() == "eng" && r.GetScalar().GetValue() == 1 {
				return true
			}
		}
		return false
	}
	if err := c.RestartAgent(0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "agent re-registered", func() bool { return len(get(t, op, mcalls.GetAgents()).GetAgents.Agents) == 1 })
	if !reserved() {
		t.Errorf("reservation lost across an agent restart")
	}
	if err := c.RestartMaster(); err != nil {
		t.Fatal(err)
	}
	op = operator(c, protobufCodec) // the old connections died with the old master
	if !reserved() {
		t.Errorf("reservation lost across a master restart")
	}
}
