package agent

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// DefaultPorts is the ports range an agent offers when its resources do not
// name ports, as the Mesos agent does.
var DefaultPorts = mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: 31000, End: 32000}}}

// ParseResources parses the Mesos agent --resources syntax:
//
//	cpus:4;mem:4096;disk:10240;ports:[31000-32000];gpus(role):1;bugs:{a,b}
//
// Items are separated by ';' or newlines; each is name or name(role), a ':'
// and a value: a number (SCALAR), [a-b,c-d] (RANGES) or {x,y} (SET). A JSON
// array of Resource objects is accepted too. name(role) with a role other
// than "*" is a static reservation, given in the post-refinement form
// (reservations: [{type: STATIC, role}]); unreserved resources carry neither
// role nor reservations. Items with the same name, role and type are summed.
// Ports default to [31000-32000] when no ports resource is given.
func ParseResources(s string) ([]mesos.Resource, error) {
	var out []mesos.Resource
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") {
		if err := json.Unmarshal([]byte(t), &out); err != nil {
			return nil, fmt.Errorf("parse resources as JSON: %w", err)
		}
		for i := range out {
			if err := out[i].Validate(); err != nil {
				return nil, fmt.Errorf("resource %q: %w", out[i].Name, err)
			}
		}
	} else {
		for _, item := range splitItems(s) {
			r, err := parseResource(item)
			if err != nil {
				return nil, err
			}
			out = mergeResource(out, r)
		}
	}
	for _, r := range out {
		if r.Name == "ports" {
			return out, nil
		}
	}
	ports := DefaultPorts
	ports.Range = append([]mesos.Value_Range(nil), DefaultPorts.Range...)
	return append(out, mesos.Resource{Name: "ports", Type: mesos.RANGES.Enum(), Ranges: &ports}), nil
}

// splitItems splits flag text at ';' and newlines, drops whitespace and
// empty items.
func splitItems(s string) []string {
	var items []string
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		item = strings.Join(strings.Fields(item), "")
		if item != "" {
			items = append(items, item)
		}
	}
	return items
}

func parseResource(item string) (mesos.Resource, error) {
	key, value, ok := strings.Cut(item, ":")
	if !ok || strings.Contains(value, ":") {
		return mesos.Resource{}, fmt.Errorf("resource %q: expected name:value (missing or extra ':')", item)
	}
	name, role := key, "*"
	if i := strings.IndexByte(key, '('); i >= 0 {
		if !strings.HasSuffix(key, ")") || i == 0 {
			return mesos.Resource{}, fmt.Errorf("resource %q: expected name(role)", item)
		}
		name, role = key[:i], key[i+1:len(key)-1]
		if role == "" || strings.ContainsAny(role, "()") {
			return mesos.Resource{}, fmt.Errorf("resource %q: bad role %q", item, role)
		}
	}
	if name == "" {
		return mesos.Resource{}, fmt.Errorf("resource %q: empty name", item)
	}
	r := mesos.Resource{Name: name}
	switch {
	case strings.HasPrefix(value, "["):
		rs, err := parseRanges(value)
		if err != nil {
			return mesos.Resource{}, fmt.Errorf("resource %q: %w", item, err)
		}
		r.Type, r.Ranges = mesos.RANGES.Enum(), &rs
	case strings.HasPrefix(value, "{"):
		if !strings.HasSuffix(value, "}") {
			return mesos.Resource{}, fmt.Errorf("resource %q: set must end with '}'", item)
		}
		var set mesos.Value_Set
		for _, it := range strings.Split(value[1:len(value)-1], ",") {
			if it != "" {
				set.Item = append(set.Item, it)
			}
		}
		r.Type, r.Set = mesos.SET.Enum(), &set
	default:
		v, err := parseScalar(value)
		if err != nil {
			return mesos.Resource{}, fmt.Errorf("resource %q: %w", item, err)
		}
		r.Type, r.Scalar = mesos.SCALAR.Enum(), &mesos.Value_Scalar{Value: v}
	}
	if role != "*" {
		r.Reservations = []mesos.Resource_ReservationInfo{{
			Type: mesos.Resource_ReservationInfo_STATIC.Enum(),
			Role: &role,
		}}
	}
	if err := r.Validate(); err != nil {
		return mesos.Resource{}, fmt.Errorf("resource %q: %w", item, err)
	}
	return r, nil
}

// parseScalar accepts a non-negative finite number, rounded to the three
// decimal digits Mesos keeps.
func parseScalar(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("value %q is negative", s)
	}
	return math.Round(v*1000) / 1000, nil
}

// parseRanges parses "[a-b,c-d]"; a bare "n" means n-n.
func parseRanges(s string) (mesos.Value_Ranges, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return mesos.Value_Ranges{}, fmt.Errorf("ranges %q must be enclosed in '[' and ']'", s)
	}
	var rs mesos.Value_Ranges
	for _, part := range strings.Split(s[1:len(s)-1], ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		b, err1 := strconv.ParseUint(lo, 10, 64)
		e, err2 := strconv.ParseUint(hi, 10, 64)
		if err1 != nil || err2 != nil {
			return mesos.Value_Ranges{}, fmt.Errorf("range %q: bounds must be non-negative integers", part)
		}
		if b > e {
			return mesos.Value_Ranges{}, fmt.Errorf("range %q: begin is greater than end", part)
		}
		rs.Range = append(rs.Range, mesos.Value_Range{Begin: b, End: e})
	}
	return rs, nil
}

// mergeResource adds r to rs, summing scalars and joining ranges and sets
// of the same name, role and type, as Mesos' Resources addition does.
func mergeResource(rs []mesos.Resource, r mesos.Resource) []mesos.Resource {
	for i := range rs {
		o := &rs[i]
		if o.Name != r.Name || o.GetType() != r.GetType() || o.ReservationRole() != r.ReservationRole() {
			continue
		}
		switch r.GetType() {
		case mesos.SCALAR:
			o.Scalar.Value = math.Round((o.Scalar.Value+r.Scalar.Value)*1000) / 1000
		case mesos.RANGES:
			all := append(append(mesos.Ranges(nil), o.Ranges.Range...), r.Ranges.Range...)
			o.Ranges.Range = []mesos.Value_Range(all.Sort().Squash())
		case mesos.SET:
			seen := map[string]bool{}
			for _, it := range o.Set.Item {
				seen[it] = true
			}
			for _, it := range r.Set.Item {
				if !seen[it] {
					o.Set.Item = append(o.Set.Item, it)
				}
			}
		}
		return rs
	}
	return append(rs, r)
}

// ParseAttributes parses the Mesos agent --attributes syntax:
//
//	rack:r1;zone:a;level:10;keys:[1000-1500]
//
// Items are separated by ';' or newlines and split at the first ':'; spaces
// are removed. A value in [..] is RANGES, a non-negative finite number is
// SCALAR, anything else is TEXT. {a,b} SET values are rejected, as the Mesos
// agent rejects them.
func ParseAttributes(s string) ([]mesos.Attribute, error) {
	var out []mesos.Attribute
	for _, item := range splitItems(s) {
		name, value, ok := strings.Cut(item, ":")
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("attribute %q: expected name:value", item)
		}
		a := mesos.Attribute{Name: name}
		switch {
		case strings.HasPrefix(value, "["):
			rs, err := parseRanges(value)
			if err != nil {
				return nil, fmt.Errorf("attribute %q: %w", item, err)
			}
			a.Type, a.Ranges = mesos.RANGES, &rs
		case strings.HasPrefix(value, "{"):
			return nil, fmt.Errorf("attribute %q: SET values are not supported for attributes", item)
		default:
			if v, err := parseScalar(value); err == nil {
				a.Type, a.Scalar = mesos.SCALAR, &mesos.Value_Scalar{Value: v}
			} else {
				text := value
				a.Type, a.Text = mesos.TEXT, &mesos.Value_Text{Value: text}
			}
		}
		out = append(out, a)
	}
	return out, nil
}
