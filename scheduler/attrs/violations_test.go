package attrs

import (
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
	"github.com/gleaner-project/gleaner/scheduler/placement"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", 257)
	cases := []struct {
		m     map[string]string
		field string
	}{
		{map[string]string{"zone": "eu-1", "rack/row": "r1", "gpu.count": "4", "a_b": ""}, ""},
		{map[string]string{"Zone": "a"}, "attributes.Zone"},
		{map[string]string{"-zone": "a"}, "attributes.-zone"},
		{map[string]string{"zone": "a", "bad key": "b"}, "attributes.bad key"},
		{map[string]string{strings.Repeat("k", 64): "a"}, "attributes." + strings.Repeat("k", 64)},
		{map[string]string{"hostname": "a"}, "attributes.hostname"},
		{map[string]string{"zone": long}, "attributes.zone"},
		{map[string]string{"zone": "a\nb"}, "attributes.zone"},
		{map[string]string{"zone": "\xff"}, "attributes.zone"},
	}
	for _, tc := range cases {
		err := Validate(tc.m)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.m, err)
			}
			continue
		}
		fe, ok := err.(*fielderr.FieldError)
		if !ok || fe.Field != tc.field {
			t.Errorf("%v: got %v, want field %s", tc.m, err, tc.field)
		}
	}
	if ValidateValue("k", strings.Repeat("é", 256)) != nil {
		t.Error("256 characters (not bytes) must pass")
	}
	if ValidateHostname("host-1.example.com") != nil || ValidateHostname("a/b") == nil || ValidateHostname("") == nil {
		t.Error("hostname validation")
	}
}

func TestViolations(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	isA := placement.MustParseConstraints([]string{"zone", "IS", "a"})
	gpu := placement.MustParseConstraints([]string{"gpu", "EXISTS"})
	uniqZone := placement.MustParseConstraints([]string{"zone", "UNIQUE"})
	max2 := placement.MustParseConstraints([]string{"zone", "MAX_PER", "2"})
	cluster := placement.MustParseConstraints([]string{"rack", "CLUSTER"})
	attrs := map[string]map[string]string{
		"h1": {"zone": "a", "rack": "r1"},
		"h2": {"zone": "b", "rack": "r1"}, // was zone a
		"h3": {"zone": "b", "rack": "r2"},
		"h4": {"zone": "b", "rack": "r1"},
	}
	cases := []struct {
		name    string
		running []Instance
		want    string
	}{
		{"attribute changed", []Instance{
			{Key: "j.t.0", Hostname: "h1", Constraints: isA},
			{Key: "j.t.1", Hostname: "h2", Constraints: isA},
		}, "j.t.1(zone IS a)"},
		{"attribute removed", []Instance{
			{Key: "g.0", Hostname: "h1", Constraints: gpu},
		}, "g.0(gpu EXISTS)"},
		{"unique: the youngest moves", []Instance{
			{Key: "u.0", Group: "u", Hostname: "h2", Constraints: uniqZone, Started: at(1)},
			{Key: "u.1", Group: "u", Hostname: "h3", Constraints: uniqZone, Started: at(5)},
			{Key: "u.2", Group: "u", Hostname: "h1", Constraints: uniqZone, Started: at(9)},
		}, "u.1(zone UNIQUE)"},
		{"max per keeps the oldest two", []Instance{
			{Key: "m.0", Group: "m", Hostname: "h4", Constraints: max2, Started: at(3)},
			{Key: "m.1", Group: "m", Hostname: "h2", Constraints: max2, Started: at(1)},
			{Key: "m.2", Group: "m", Hostname: "h3", Constraints: max2, Started: at(2)},
		}, "m.0(zone MAX_PER 2)"},
		{"cluster keeps the majority", []Instance{
			{Key: "c.0", Group: "c", Hostname: "h3", Constraints: cluster, Started: at(1)},
			{Key: "c.1", Group: "c", Hostname: "h1", Constraints: cluster, Started: at(2)},
			{Key: "c.2", Group: "c", Hostname: "h2", Constraints: cluster, Started: at(3)},
		}, "c.0(rack CLUSTER)"},
		{"groups are separate", []Instance{
			{Key: "x.0", Group: "x", Hostname: "h2", Constraints: uniqZone},
			{Key: "y.0", Group: "y", Hostname: "h3", Constraints: uniqZone},
		}, ""},
		{"unknown host is skipped", []Instance{
			{Key: "z.0", Hostname: "gone", Constraints: isA},
			{Key: "z.1", Hostname: "gone"},
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range Violations(tc.running, attrs) {
				got = append(got, v.Instance.Key+"("+v.Constraint+")")
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Fatalf("got %q want %q", s, tc.want)
			}
		})
	}
}

func TestMoveLimiter(t *testing.T) {
	t0 := time.Unix(0, 0)
	l := NewMoveLimiter(2, 3) // 2 per second, bursts of 3
	steps := []struct {
		at        time.Duration
		want, got int
	}{
		{0, 10, 3},
		{0, 10, 0},
		{250 * time.Millisecond, 10, 0},
		{500 * time.Millisecond, 10, 1},
		{2 * time.Second, 10, 3}, // refilled 3, capped at burst
		{2 * time.Second, 1, 0},
		{3 * time.Second, 1, 1}, // 2 tokens, 1 wanted
		{3 * time.Second, 5, 1},
		{time.Second, 5, 0}, // the clock going back refills nothing
	}
	for i, s := range steps {
		if n := l.Take(t0.Add(s.at), s.want); n != s.got {
			t.Fatalf("step %d: got %d want %d", i, n, s.got)
		}
	}
}
