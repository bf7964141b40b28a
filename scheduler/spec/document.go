package spec

import (
	"fmt"

	yamlnode "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// Bounds on a YAML or JSON document (a job spec, a template, a compose
// file, an image map), checked on the document's node tree before it is
// decoded into values (issue 10 finding 4: a 1 MiB string anchored once
// and aliased 200 times grew the scheduler by 800 MB).
const (
	// MaxDocumentBytes bounds the document as sent (the API's body cap).
	MaxDocumentBytes = 4 << 20
	// MaxExpandedBytes bounds the document with every alias replaced by
	// the node it names: what decoding it would build.
	MaxExpandedBytes = 8 << 20
	// MaxExpandedNodes bounds the scalars, lists and objects after alias
	// expansion.
	MaxExpandedNodes = 1 << 20
	// MaxDocumentDepth bounds the nesting of lists and objects (a job spec
	// needs about ten levels).
	MaxDocumentDepth = 64
)

// YAMLToJSON converts a YAML or JSON document to JSON, as
// sigs.k8s.io/yaml does, after refusing one larger than MaxDocumentBytes,
// nested deeper than MaxDocumentDepth, or whose aliases expand it beyond
// MaxExpandedBytes or MaxExpandedNodes. Errors are *fielderr.FieldError on the
// document (Field ""); what names the document in them ("spec",
// "compose file").
func YAMLToJSON(what string, data []byte) ([]byte, error) {
	if err := CheckDocument(what, data); err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, ferr("", "parse %s: %v", what, err)
	}
	return js, nil
}

// CheckDocument checks data against the document bounds without decoding
// it into values. Anchors and aliases are allowed (compose files use them
// for shared settings); what they expand to is counted.
func CheckDocument(what string, data []byte) error {
	if len(data) > MaxDocumentBytes {
		return ferr("", "%s of %d bytes is larger than the %d allowed", what, len(data), MaxDocumentBytes)
	}
	var root yamlnode.Node
	if err := yamlnode.Unmarshal(data, &root); err != nil {
		return ferr("", "parse %s: %v", what, err)
	}
	m := measurer{what: what, memo: map[*yamlnode.Node]size{}}
	total, err := m.measure(&root, 0)
	if err != nil {
		return err
	}
	if total.bytes > MaxExpandedBytes || total.nodes > MaxExpandedNodes {
		return m.amplification(&root, total)
	}
	return nil
}

// size is what a node expands to: bytes, nodes, and how deep its lists
// and objects nest (0 for a scalar).
type size struct {
	bytes, nodes int64
	depth        int
}

// saturate keeps sums of expanded sizes from overflowing: anything beyond
// the limits is refused anyway.
func saturate(n int64) int64 { return min(n, 1<<40) }

// measurer computes expanded sizes, each anchored node once.
type measurer struct {
	what string
	memo map[*yamlnode.Node]size
	open []*yamlnode.Node // anchored nodes being measured (an alias to one is a cycle)
}

// measure returns n's expanded size; depth is n's own depth in the
// document, aliases expanded.
func (m *measurer) measure(n *yamlnode.Node, depth int) (size, error) {
	if n == nil {
		return size{}, nil
	}
	if depth > MaxDocumentDepth {
		return size{}, ferr("", "%s nested deeper than %d levels (line %d)", m.what, MaxDocumentDepth, n.Line)
	}
	if n.Kind == yamlnode.AliasNode {
		target := n.Alias
		for _, o := range m.open {
			if o == target {
				return size{}, ferr("", "alias *%s at line %d refers to the node that contains it", n.Value, n.Line)
			}
		}
		s, ok := m.memo[target]
		if !ok {
			return m.measure(target, depth)
		}
		if depth+s.depth > MaxDocumentDepth {
			return size{}, ferr("", "%s nested deeper than %d levels once alias *%s at line %d is expanded", m.what, MaxDocumentDepth, n.Value, n.Line)
		}
		return s, nil
	}
	if n.Anchor != "" {
		m.open = append(m.open, n)
		defer func() { m.open = m.open[:len(m.open)-1] }()
	}
	s := size{bytes: int64(len(n.Value)) + 2, nodes: 1}
	for _, c := range n.Content {
		cs, err := m.measure(c, depth+1)
		if err != nil {
			return size{}, err
		}
		s.bytes, s.nodes = saturate(s.bytes+cs.bytes), saturate(s.nodes+cs.nodes)
		s.depth = max(s.depth, cs.depth+1)
		if s.bytes > MaxExpandedBytes || s.nodes > MaxExpandedNodes {
			break // refused by the caller; no need to look further
		}
	}
	if n.Anchor != "" {
		m.memo[n] = s
	}
	return s, nil
}

// amplification names the anchor that contributes most to an oversized
// expansion. Measuring stopped at the limit, so the aliases are counted
// here, over the document as written (linear in its size).
func (m *measurer) amplification(root *yamlnode.Node, total size) error {
	uses := map[*yamlnode.Node]int{}
	firstUse := map[*yamlnode.Node]int{}
	var count func(n *yamlnode.Node)
	count = func(n *yamlnode.Node) {
		if n.Kind == yamlnode.AliasNode {
			if uses[n.Alias]++; uses[n.Alias] == 1 {
				firstUse[n.Alias] = n.Line
			}
			return
		}
		for _, c := range n.Content {
			count(c)
		}
	}
	count(root)
	var worst *yamlnode.Node
	var worstBytes int64
	for n, k := range uses {
		if b := saturate(int64(k) * m.memo[n].bytes); worst == nil || b > worstBytes {
			worst, worstBytes = n, b
		}
	}
	what := fmt.Sprintf("%d bytes and %d nodes", total.bytes, total.nodes)
	limit := fmt.Sprintf("%d bytes or %d nodes", MaxExpandedBytes, MaxExpandedNodes)
	if worst == nil {
		return ferr("", "%s expands to %s, more than the %s allowed", m.what, what, limit)
	}
	return ferr("", "YAML aliases expand the %s to at least %s, more than the %s allowed: anchor &%s (line %d, %d bytes) is used %d times, first at line %d",
		m.what, what, limit, worst.Anchor, worst.Line, m.memo[worst].bytes, uses[worst], firstUse[worst])
}
