package localmesos

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseAgentSpec(t *testing.T) {
	ok := []struct {
		in   string
		want AgentSpec
	}{
		{"name=h1", AgentSpec{Name: "h1"}},
		{"name=h1;attributes=rack:r1,zone:a;resources=cpus:4;mem:4096",
			AgentSpec{Name: "h1", Attributes: "rack:r1;zone:a", Resources: "cpus:4;mem:4096"}},
		{" resources = cpus:2 ; mem:512 ; name = db-1.example.org ",
			AgentSpec{Name: "db-1.example.org", Resources: "cpus:2;mem:512"}},
		{"name=h2;attributes=rack:r1;zone:b;ports:[1-2,5-6]",
			AgentSpec{Name: "h2", Attributes: "rack:r1;zone:b;ports:[1-2,5-6]"}},
		{"name=h3;resources=cpus:1;", AgentSpec{Name: "h3", Resources: "cpus:1"}},
	}
	for _, c := range ok {
		got, err := ParseAgentSpec(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseAgentSpec(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", "empty"},
		{"attributes=rack:r1", "name: missing"},
		{"name=", "name: empty"},
		{"name=h_1", `name: "h_1" is not a host name`},
		{"name=-h", "name:"},
		{"name=h1;name=h2", `part "name" given twice`},
		{"name=h1;color=red", `unknown part "color"`},
		{"cpus:4;name=h1", `part "cpus:4": want key=value`},
		{"name=h1;cpus:4", `part "cpus:4" after name`},
		{";name=h1", "empty part"},
		{"name=h1;resources=cpus:lots", "resources:"},
		{"name=h1;resources=", "resources: empty"},
		{"name=h1;resources=[{\"name\":\"cpus\"}]", "resources: JSON"},
		{"name=h1;attributes=rack", "attributes:"},
		{"name=h1;attributes=,", "attributes: empty"},
		{"name=h1;attributes=s:{a,b}", "attributes:"},
		{"name=" + strings.Repeat("a", MaxAgentSpecBytes), "longer than"},
	}
	for _, c := range bad {
		_, err := ParseAgentSpec(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAgentSpec(%q): error %v, want containing %q", c.in, err, c.want)
		}
	}
}

func TestApplyAgentSpecs(t *testing.T) {
	specs := []AgentSpec{{Name: "h1", Resources: "cpus:1"}, {Name: "h2", Attributes: "rack:r2"}}
	cfg := Config{Agents: 3, Resources: "cpus:4", Attributes: "rack:r0"}
	if err := ApplyAgentSpecs(&cfg, specs); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{cfg: cfg}
	want := []struct{ host, res, attrs string }{{"h1", "cpus:1", "rack:r0"}, {"h2", "cpus:4", "rack:r2"}, {"local-agent-3", "cpus:4", "rack:r0"}}
	for i, w := range want {
		res, attrs := c.agentFlags(i)
		if h := c.hostname(i); h != w.host || res != w.res || attrs != w.attrs {
			t.Errorf("agent %d: %s %q %q, want %s %q %q", i+1, h, res, attrs, w.host, w.res, w.attrs)
		}
	}
	cfg = Config{Agents: 1}
	if err := ApplyAgentSpecs(&cfg, specs); err != nil || cfg.Agents != 2 {
		t.Errorf("fewer --agents than specs: agents %d, %v; want 2", cfg.Agents, err)
	}
	cfg = Config{Agents: 3}
	if err := ApplyAgentSpecs(&cfg, []AgentSpec{{Name: "local-agent-3"}}); err == nil || !strings.Contains(err.Error(), `agents 1 and 3 are both named "local-agent-3"`) {
		t.Errorf("name taken by a default agent: %v", err)
	}
	cfg = Config{Agents: 2, Hostnames: []string{"a", "b"}}
	if err := ApplyAgentSpecs(&cfg, specs); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("--agent and --hostnames: %v", err)
	}
}

// The per-agent settings reach the master: each agent registers with its
// own hostname, attributes and resources.
func TestAgentSpecsRegister(t *testing.T) {
	cfg := Config{Agents: 2, Resources: "cpus:4;mem:4096", Attributes: "zone:z", fakeAgents: true}
	for _, s := range []string{"name=big;attributes=rack:r1,zone:a;resources=cpus:8;mem:8192", "name=small"} {
		spec, err := ParseAgentSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := ApplyAgentSpecs(&cfg, append(specsOf(cfg), spec)); err != nil {
			t.Fatal(err)
		}
	}
	c := startCluster(t, cfg)
	got := map[string]string{}
	for _, r := range c.Master().Registrations() {
		var cpus float64
		for _, res := range r.Info.Resources {
			if res.Name == "cpus" {
				cpus += res.GetScalar().GetValue()
			}
		}
		var attrs []string
		for _, a := range r.Info.Attributes {
			attrs = append(attrs, a.Name+":"+a.GetText().GetValue())
		}
		got[r.Info.Hostname] = fmt.Sprintf("%s cpus=%g", strings.Join(attrs, ","), cpus)
	}
	want := map[string]string{"big": "rack:r1,zone:a cpus=8", "small": "zone:z cpus=4"}
	for h, w := range want {
		if got[h] != w {
			t.Errorf("agent %s registered %q, want %q (all: %v)", h, got[h], w, got)
		}
	}
}

// specsOf returns the specs already applied to cfg, in agent order.
func specsOf(cfg Config) []AgentSpec {
	var out []AgentSpec
	for i := 0; ; i++ {
		o, ok := cfg.PerAgent[i]
		if !ok {
			return out
		}
		out = append(out, AgentSpec{Name: o.Hostname, Attributes: o.Attributes, Resources: o.Resources})
	}
}

func FuzzParseAgentSpec(f *testing.F) {
	for _, s := range []string{"name=h1;attributes=rack:r1,zone:a;resources=cpus:4;mem:4096", "name=a;;", "resources=cpus:1;name=x",
		"name=h;attributes=p:[1-2,3-4]", "name=h;resources=[]", "=;=", "name=a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseAgentSpec(s)
		if err != nil {
			return
		}
		if checkHostname(spec.Name) != nil {
			t.Fatalf("accepted bad name %q from %q", spec.Name, s)
		}
		// What was accepted parses again to the same settings.
		again := "name=" + spec.Name
		if spec.Attributes != "" {
			again += ";attributes=" + spec.Attributes
		}
		if spec.Resources != "" {
			again += ";resources=" + spec.Resources
		}
		if len(again) > MaxAgentSpecBytes {
			return
		}
		spec2, err := ParseAgentSpec(again)
		if err != nil || spec2 != spec {
			t.Fatalf("%q parsed to %+v; its canonical form %q gives %+v, %v", s, spec, again, spec2, err)
		}
	})
}
