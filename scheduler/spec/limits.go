package spec

import (
	"math"

	"github.com/gleaner-project/gleaner/scheduler/placement"
)

// Bounds on outside input, checked before any recursive parser or
// allocation-heavy decoder runs (issue 10): a request can cost the
// scheduler only what these allow.
const (
	// MaxExprBytes bounds a depends or when expression. On its own it
	// keeps the expression parser's recursion to a few thousand frames;
	// real expressions are far shorter.
	MaxExprBytes = 8 << 10
	// MaxExprDepth bounds the nesting of an expression: open brackets plus
	// chained prefix operators (!, not, unary -) and conditionals (?, if,
	// let) — each a level of recursion in the parser.
	MaxExprDepth = 64
)

// Task resources: a task asking for less than Mesos offers (cpus or mem
// below placement.MesosMinCPUs / MesosMinMem) is refused at submit — every
// attempt would fail — and so is one asking for more than any agent could
// hold, which would stay pending forever.
const (
	MinCPUs = placement.MesosMinCPUs
	MinMem  = placement.MesosMinMem
	MaxCPUs = 4096    // cores
	MaxMem  = 1 << 26 // MiB: 64 TiB
	MaxDisk = 1 << 30 // MiB: 1 PiB
	MaxGPUs = 1024
)

// checkResource refuses a value that is not finite or lies outside
// [least, most]; field names it (tasks[0].resources.cpus).
func checkResource(field string, v, least, most float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return ferr(field, "must be a finite number, got %v", v)
	case v < 0:
		return ferr(field, "must be >= 0, got %v", v)
	case v < least:
		return ferr(field, "must be at least %v, got %v", least, v)
	case v > most:
		return ferr(field, "%v is more than any agent can hold (at most %v)", v, most)
	}
	return nil
}

// CheckExpr refuses an expression longer than MaxExprBytes or nested
// deeper than MaxExprDepth, in one linear scan, so that no recursive
// parser ever sees it. field names the expression in the error
// (tasks[1].depends).
func CheckExpr(field, s string) error {
	if len(s) > MaxExprBytes {
		return ferr(field, "expression of %d bytes is longer than the %d allowed", len(s), MaxExprBytes)
	}
	if d := exprDepth(s); d > MaxExprDepth {
		return ferr(field, "expression nested deeper than %d levels (brackets, !, not, unary -, ?:, if, let); found %d", MaxExprDepth, d)
	}
	return nil
}

// exprDepth is the deepest nesting in s: at each point, the open brackets
// plus, per bracket level, the prefix operators since the last operand
// and the conditionals opened. String literals are skipped. It
// over-estimates rather than under-estimates the parser's recursion.
func exprDepth(s string) int {
	type level struct{ prefix, cond int }
	var outer []level // one per open bracket
	var cur level
	depth := func() int {
		d := len(outer) + cur.prefix + cur.cond
		for _, l := range outer {
			d += l.prefix + l.cond
		}
		return d
	}
	deepest := 0
	afterOperand := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(s, i)
			cur.prefix, afterOperand = 0, true
			continue
		case c == '(' || c == '[' || c == '{':
			outer = append(outer, cur)
			cur, afterOperand = level{}, false
		case c == ')' || c == ']' || c == '}':
			if len(outer) > 0 {
				cur, outer = outer[len(outer)-1], outer[:len(outer)-1]
			}
			cur.prefix, afterOperand = 0, true
			continue
		case c == '!' && (i+1 >= len(s) || s[i+1] != '='):
			cur.prefix++
			afterOperand = false
		case (c == '-' || c == '+') && !afterOperand:
			cur.prefix++
		case c == '?' && i+1 < len(s) && (s[i+1] == '?' || s[i+1] == '.'):
			i++ // ?? and ?. are binary operators, not a conditional
			afterOperand = false
		case c == '?':
			cur.cond++
			afterOperand = false
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			switch s[i:j] {
			case "not":
				cur.prefix++
				afterOperand = false
			case "if", "let":
				cur.cond++
				afterOperand = false
			case "and", "or", "in", "matches", "contains", "startsWith", "endsWith", "else":
				afterOperand = false
			default:
				cur.prefix, afterOperand = 0, true
			}
			i = j - 1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		default:
			afterOperand = false
		}
		deepest = max(deepest, depth())
	}
	return deepest
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '$' || c == '#'
}

// skipString returns the index of the quote closing the string literal
// opened at s[i] (or the last index when it is unclosed).
func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j
		}
	}
	return len(s) - 1
}
