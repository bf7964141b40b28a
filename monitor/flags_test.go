package monitor

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/executor"
	"github.com/gleaner-project/gleaner/monitor/policy"
)

// mapValues answers FlagValues from the flags' defaults, overridden by set.
type mapValues map[string]any

func (m mapValues) String(n string) string          { v, _ := m[n].(string); return v }
func (m mapValues) StringSlice(n string) []string   { v, _ := m[n].([]string); return v }
func (m mapValues) Bool(n string) bool              { v, _ := m[n].(bool); return v }
func (m mapValues) Int(n string) int                { v, _ := m[n].(int); return v }
func (m mapValues) Float64(n string) float64        { v, _ := m[n].(float64); return v }
func (m mapValues) Duration(n string) time.Duration { v, _ := m[n].(time.Duration); return v }

func defaults(set map[string]any) mapValues {
	m := mapValues{}
	for _, f := range Flags() {
		m[f.Name] = f.Default
	}
	for k, v := range set {
		m[k] = v
	}
	return m
}

func TestFlagsDefaultsAreThePolicyDefaults(t *testing.T) {
	if bundleCacheDefault != executor.DefaultBundleCache {
		t.Errorf("bundle cache default %q, the executor's is %q", bundleCacheDefault, executor.DefaultBundleCache)
	}
	seen := map[string]bool{}
	for _, f := range Flags() {
		if seen[f.Name] {
			t.Errorf("flag --%s twice", f.Name)
		}
		seen[f.Name] = true
		switch f.Default.(type) {
		case string, []string, bool, int, float64, time.Duration:
		default:
			t.Errorf("flag --%s: default of type %T", f.Name, f.Default)
		}
	}
	cfg, err := ConfigFromFlags(defaults(map[string]any{"master": "http://m:5050", "etcd": []string{"http://a:2379, http://b:2379", "http://c:2379"}}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policy != policy.DefaultParams() {
		t.Errorf("policy from default flags %+v, want %+v", cfg.Policy, policy.DefaultParams())
	}
	if got := cfg.EtcdEndpoints; len(got) != 3 || got[1] != "http://b:2379" {
		t.Errorf("etcd endpoints %q: want the three, split and trimmed", got)
	}
	if cfg.Interval != time.Second || !cfg.ReleaseStartupPages || cfg.ExecutorsKeepClass || cfg.Etcd != nil {
		t.Errorf("config from default flags: %+v", cfg)
	}
}

func TestConfigFromFlagsRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		set  map[string]any
	}{
		{"log level", map[string]any{"log-level": "loud"}},
		{"policy", map[string]any{"cpu-margin": -1.0}},
		{"cert without key", map[string]any{"etcd-cert": "/x.pem"}},
		{"missing CA file", map[string]any{"etcd-cacert": "/nonexistent/ca.pem"}},
	} {
		if _, err := ConfigFromFlags(defaults(c.set)); err == nil {
			t.Errorf("%s: want an error", c.name)
		}
	}
}
