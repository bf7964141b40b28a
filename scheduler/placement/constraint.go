package placement

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
)

// Operator is a constraint operator, Marathon-style plus EXISTS/NOT_EXISTS.
type Operator uint8

// The operators.
const (
	OpUnique Operator = iota + 1
	OpCluster
	OpGroupBy
	OpLike
	OpUnlike
	OpMaxPer
	OpIs
	OpExists
	OpNotExists
)

var opNames = [...]string{
	OpUnique: "UNIQUE", OpCluster: "CLUSTER", OpGroupBy: "GROUP_BY", OpLike: "LIKE",
	OpUnlike: "UNLIKE", OpMaxPer: "MAX_PER", OpIs: "IS", OpExists: "EXISTS", OpNotExists: "NOT_EXISTS",
}

func (o Operator) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "OP(" + strconv.Itoa(int(o)) + ")"
}

// ParseOperator maps a name such as "GROUP_BY" to its Operator.
func ParseOperator(s string) (Operator, bool) {
	for i, n := range opNames {
		if n != "" && n == s {
			return Operator(i), true
		}
	}
	return 0, false
}

// HostnameField is the pseudo-attribute naming the agent's hostname.
const HostnameField = "hostname"

// Constraint is one compiled [field, OPERATOR, value] constraint.
type Constraint struct {
	Field string
	Op    Operator
	Value string

	re *regexp.Regexp // LIKE, UNLIKE
	n  int            // MAX_PER limit, GROUP_BY minimum groups
	// reason is the rejection reason name, built once.
	reason string
}

// counting reports whether the operator depends on where the group's other
// instances run (and so cannot be cached per agent class).
func (c *Constraint) counting() bool {
	switch c.Op {
	case OpUnique, OpGroupBy, OpMaxPer:
		return true
	case OpCluster:
		return c.Value == ""
	}
	return false
}

// Reason is the rejection reason name for c: constraint "<field> <OP> <value>".
func (c *Constraint) Reason() string { return c.reason }

// static evaluates a non-counting constraint against one attribute value.
func (c *Constraint) static(v string, ok bool) bool {
	switch c.Op {
	case OpIs, OpCluster:
		return ok && v == c.Value
	case OpLike:
		return ok && c.re.MatchString(v)
	case OpUnlike:
		return !ok || !c.re.MatchString(v)
	case OpExists:
		return ok
	case OpNotExists:
		return !ok
	}
	return true
}

// Constraints is a compiled, validated constraint list, shared by every
// instance of a task. Build it once with ParseConstraints.
type Constraints struct {
	List []Constraint
	// idx lists constraints by evaluation kind.
	classIdx    []int // cacheable per agent class (static, field != hostname)
	hostIdx     []int // static on hostname: evaluated per agent
	countingIdx []int // UNIQUE, GROUP_BY, MAX_PER, CLUSTER without value

	// owner/slot intern the set inside one Chain for its caches.
	owner *Chain
	slot  int32
}

// Counting reports whether any constraint counts the group's instances.
func (cs *Constraints) Counting() bool { return cs != nil && len(cs.countingIdx) > 0 }

// ParseConstraints validates and compiles raw [field, OPERATOR, value]
// triples (value optional for UNIQUE, CLUSTER, GROUP_BY, EXISTS, NOT_EXISTS).
// Errors are *fielderr.FieldError naming constraints[i]. A nil or empty list yields
// nil (no constraints).
func ParseConstraints(raw [][]string) (*Constraints, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	cs := &Constraints{List: make([]Constraint, 0, len(raw)), slot: -1}
	for i, r := range raw {
		c, err := compile(r)
		if err != nil {
			return nil, &fielderr.FieldError{Field: fmt.Sprintf("constraints[%d]", i), Msg: err.Error()}
		}
		cs.List = append(cs.List, c)
	}
	for i := range cs.List {
		c := &cs.List[i]
		switch {
		case c.counting():
			cs.countingIdx = append(cs.countingIdx, i)
		case c.Field == HostnameField:
			cs.hostIdx = append(cs.hostIdx, i)
		default:
			cs.classIdx = append(cs.classIdx, i)
		}
	}
	return cs, nil
}

// ParseConstraintsJSON parses a JSON array of arrays, e.g.
// [["zone","GROUP_BY"],["hostname","UNIQUE"]].
func ParseConstraintsJSON(b []byte) (*Constraints, error) {
	var raw [][]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, &fielderr.FieldError{Field: "constraints", Msg: "must be a list of [field, OPERATOR, value] string lists: " + err.Error()}
	}
	return ParseConstraints(raw)
}

// MustParseConstraints is ParseConstraints that panics, for tests and tables.
func MustParseConstraints(raw ...[]string) *Constraints {
	cs, err := ParseConstraints(raw)
	if err != nil {
		panic(err)
	}
	return cs
}

var fieldRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$`)

func compile(r []string) (Constraint, error) {
	if len(r) < 2 || len(r) > 3 {
		return Constraint{}, fmt.Errorf("want [field, OPERATOR] or [field, OPERATOR, value], got %d elements", len(r))
	}
	c := Constraint{Field: r[0]}
	if len(r) == 3 {
		c.Value = r[2]
	}
	if !fieldRE.MatchString(c.Field) {
		return c, fmt.Errorf("field %q must be an attribute name or %q", c.Field, HostnameField)
	}
	op, ok := ParseOperator(strings.ToUpper(r[1]))
	if !ok {
		return c, fmt.Errorf("unknown operator %q (want UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS, EXISTS or NOT_EXISTS)", r[1])
	}
	c.Op = op
	switch op {
	case OpUnique, OpExists, OpNotExists:
		if c.Value != "" {
			return c, fmt.Errorf("%s takes no value, got %q", op, c.Value)
		}
	case OpIs:
		if len(r) != 3 {
			return c, fmt.Errorf("%s needs a value", op)
		}
	case OpLike, OpUnlike:
		if c.Value == "" {
			return c, fmt.Errorf("%s needs a regular expression", op)
		}
		re, err := regexp.Compile("^(?:" + c.Value + ")$")
		if err != nil {
			return c, fmt.Errorf("%s value %q is not a valid regular expression: %w", op, c.Value, err)
		}
		c.re = re
	case OpMaxPer:
		n, err := strconv.Atoi(c.Value)
		if err != nil || n < 1 {
			return c, fmt.Errorf("%s needs a positive integer, got %q", op, c.Value)
		}
		c.n = n
	case OpGroupBy:
		if c.Value != "" {
			n, err := strconv.Atoi(c.Value)
			if err != nil || n < 1 {
				return c, fmt.Errorf("%s value (minimum number of groups) must be a positive integer, got %q", op, c.Value)
			}
			c.n = n
		}
	}
	c.reason = "constraint " + strings.TrimSpace(c.Field+" "+op.String()+" "+c.Value)
	return c, nil
}
