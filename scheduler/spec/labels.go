package spec

import "regexp"

// Job labels (`labels:` at the top of a spec) tag a job for people and
// tools; `GET /v1/jobs?label=k=v` filters by them.
const (
	MaxJobLabels     = 32
	MaxLabelValueLen = 253
)

// labelKeyRE is a label key: letters, digits and . _ / - , up to 63.
var labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)

// ValidLabelKey reports whether k is a valid job label key.
func ValidLabelKey(k string) bool { return labelKeyRE.MatchString(k) }

func parseJobLabels(root obj) (map[string]string, error) {
	m, err := root.strMap("labels")
	if err != nil || m == nil {
		return m, err
	}
	if len(m) > MaxJobLabels {
		return nil, ferr("labels", "%d labels; at most %d", len(m), MaxJobLabels)
	}
	for k, v := range m {
		if !ValidLabelKey(k) {
			return nil, ferr("labels."+k, "key must match %s", labelKeyRE)
		}
		if len(v) > MaxLabelValueLen {
			return nil, ferr("labels."+k, "value of %d bytes; at most %d", len(v), MaxLabelValueLen)
		}
	}
	return m, nil
}

// Nearest returns the name in known closest to the unknown name s by
// edit distance, if it is close enough to be a typo (at most 1 edit for
// names up to 4 bytes, 2 up to 8, else 3), else "".
func Nearest(s string, known []string) string {
	limit := 3
	switch {
	case len(s) <= 4:
		limit = 1
	case len(s) <= 8:
		limit = 2
	}
	if len(s) > 64 {
		return "" // not a typo of any field name; spare the work
	}
	best, bestD := "", limit+1
	for _, k := range known {
		if d := editDistance(s, k, limit); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the edit distance of a and b (insertions, deletions,
// substitutions and swaps of adjacent bytes; case-insensitive on ASCII),
// or limit+1 when it exceeds limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if lower(a[i-1]) == lower(b[j-1]) {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && lower(a[i-1]) == lower(b[j-2]) && lower(a[i-2]) == lower(b[j-1]) {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
