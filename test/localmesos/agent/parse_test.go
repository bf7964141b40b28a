package agent

import (
	"reflect"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func scalarRes(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

func rangesRes(name string, rs ...mesos.Value_Range) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: rs}}
}

func defaultPorts() mesos.Resource {
	return rangesRes("ports", mesos.Value_Range{Begin: 31000, End: 32000})
}

func reserved(r mesos.Resource, role string) mesos.Resource {
	r.Reservations = []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: &role}}
	return r
}

func TestParseResources(t *testing.T) {
	cases := []struct {
		in      string
		want    []mesos.Resource
		wantErr string
	}{
		{in: "cpus:4;mem:4096;disk:10240", want: []mesos.Resource{scalarRes("cpus", 4), scalarRes("mem", 4096), scalarRes("disk", 10240), defaultPorts()}},
		{in: "", want: []mesos.Resource{defaultPorts()}},
		{in: "cpus:1.5123; ports:[1000-2000, 3000-3000]\nmem : 64", want: []mesos.Resource{
			scalarRes("cpus", 1.512), rangesRes("ports", mesos.Value_Range{Begin: 1000, End: 2000}, mesos.Value_Range{Begin: 3000, End: 3000}), scalarRes("mem", 64)}},
		{in: "cpus:2;cpus(eng):1;cpus:1;ports:[10-20];ports:[21-30]", want: []mesos.Resource{
			scalarRes("cpus", 3), reserved(scalarRes("cpus", 1), "eng"), rangesRes("ports", mesos.Value_Range{Begin: 10, End: 30})}},
		{in: "cpus(*):2", want: []mesos.Resource{scalarRes("cpus", 2), defaultPorts()}},
		{in: "bugs(debug_role):{a,b,c}", want: []mesos.Resource{
			reserved(mesos.Resource{Name: "bugs", Type: mesos.SET.Enum(), Set: &mesos.Value_Set{Item: []string{"a", "b", "c"}}}, "debug_role"), defaultPorts()}},
		{in: `[{"name":"cpus","type":"SCALAR","scalar":{"value":2}}]`, want: []mesos.Resource{scalarRes("cpus", 2), defaultPorts()}},
		{in: "cpus", wantErr: `resource "cpus": expected name:value`},
		{in: "cpus:4;mem:lots", wantErr: `resource "mem:lots": value "lots" is not a number`},
		{in: "cpus:-1", wantErr: `resource "cpus:-1": value "-1" is negative`},
		{in: "ports:[5-1]", wantErr: `resource "ports:[5-1]": range "5-1": begin is greater than end`},
		{in: "ports:[a-b]", wantErr: `range "a-b": bounds must be non-negative integers`},
		{in: "ports:[1-2", wantErr: `must be enclosed`},
		{in: "cpus(:1", wantErr: `expected name(role)`},
		{in: "cpus():1", wantErr: `bad role`},
		{in: "a:b:c", wantErr: `missing or extra ':'`},
		{in: "x:{a,b", wantErr: `set must end with '}'`},
		{in: "[not json", wantErr: "parse resources as JSON"},
	}
	for _, c := range cases {
		got, err := ParseResources(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseResources(%q) error = %v, want containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseResources(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseResources(%q) =\n %v\nwant\n %v", c.in, mesos.Resources(got), mesos.Resources(c.want))
		}
	}
}

func TestParseAttributes(t *testing.T) {
	text := func(n, v string) mesos.Attribute {
		return mesos.Attribute{Name: n, Type: mesos.TEXT, Text: &mesos.Value_Text{Value: v}}
	}
	cases := []struct {
		in      string
		want    []mesos.Attribute
		wantErr string
	}{
		{in: "rack:r1;zone:a;level:10;keys:[1000-1500]", want: []mesos.Attribute{
			text("rack", "r1"), text("zone", "a"),
			{Name: "level", Type: mesos.SCALAR, Scalar: &mesos.Value_Scalar{Value: 10}},
			{Name: "keys", Type: mesos.RANGES, Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: 1000, End: 1500}}}},
		}},
		{in: "", want: nil},
		{in: " os : debian 12 \n url:http://x:80", want: []mesos.Attribute{text("os", "debian12"), text("url", "http://x:80")}},
		{in: "neg:-3;big:1e3", want: []mesos.Attribute{text("neg", "-3"), {Name: "big", Type: mesos.SCALAR, Scalar: &mesos.Value_Scalar{Value: 1000}}}},
		{in: "tags:{a,b}", wantErr: `attribute "tags:{a,b}": SET values are not supported`},
		{in: "rack", wantErr: `attribute "rack": expected name:value`},
		{in: "rack:", wantErr: `attribute "rack:": expected name:value`},
		{in: "keys:[9-1]", wantErr: `attribute "keys:[9-1]"`},
	}
	for _, c := range cases {
		got, err := ParseAttributes(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseAttributes(%q) error = %v, want containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAttributes(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseAttributes(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Flag text from users never panics the parsers, and whatever they accept
// is valid Mesos.
func FuzzParseResources(f *testing.F) {
	for _, s := range []string{"cpus:4;mem:4096;disk:10240;ports:[31000-32000]", "bugs(debug_role):{a,b,c}", "cpus(:1", "[{}]", "ports:[5-1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseResources(s)
		if err != nil {
			return
		}
		for i := range rs {
			if verr := rs[i].Validate(); verr != nil {
				t.Fatalf("ParseResources(%q) accepted an invalid resource %v: %v", s, rs[i], verr)
			}
		}
	})
}

func FuzzParseAttributes(f *testing.F) {
	for _, s := range []string{"rack:r1;zone:a;level:10;keys:[1000-1500]", "tags:{a}", "x:1e400", "a:[1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		as, err := ParseAttributes(s)
		if err != nil {
			return
		}
		for _, a := range as {
			if a.Name == "" || (a.Scalar == nil && a.Ranges == nil && a.Text == nil) {
				t.Fatalf("ParseAttributes(%q) accepted %+v", s, a)
			}
		}
	})
}
