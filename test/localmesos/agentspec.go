package localmesos

import (
	"fmt"
	"strings"

	"github.com/gleaner-project/gleaner/test/localmesos/agent"
)

// MaxAgentSpecBytes bounds one --agent value.
const MaxAgentSpecBytes = 4096

// AgentSpec is one agent's own settings, from a repeated --agent flag:
//
//	name=h1;attributes=rack:r1,zone:a;resources=cpus:4;mem:4096
//
// Parts are key=value, separated by ';'. The keys are name (required: the
// agent's hostname), attributes (name:value items separated by ',' or ';')
// and resources (the agent --resources syntax, whose items are themselves
// separated by ';'). A ';'-separated item without "key=" continues the part
// before it, so resources=cpus:4;mem:4096 reads as one part. Empty
// attributes or resources keep the cluster-wide value.
type AgentSpec struct {
	Name       string
	Attributes string // agent-flag syntax ("rack:r1;zone:a")
	Resources  string // agent-flag syntax ("cpus:4;mem:4096")
}

// ParseAgentSpec parses and checks one --agent value; errors name the part
// at fault.
func ParseAgentSpec(s string) (AgentSpec, error) {
	var spec AgentSpec
	if len(s) > MaxAgentSpecBytes {
		return spec, fmt.Errorf("longer than %d bytes", MaxAgentSpecBytes)
	}
	if strings.TrimSpace(s) == "" {
		return spec, fmt.Errorf("empty; want name=HOST[;attributes=k:v,...][;resources=cpus:N;mem:MB...]")
	}
	parts := map[string][]string{}
	last := ""
	for i, item := range strings.Split(s, ";") {
		item = strings.TrimSpace(item)
		key, value, hasKey := strings.Cut(item, "=")
		key = strings.TrimSpace(key)
		switch {
		case hasKey && (key == "name" || key == "attributes" || key == "resources"):
			if _, dup := parts[key]; dup {
				return spec, fmt.Errorf("part %q given twice", key)
			}
			parts[key] = []string{strings.TrimSpace(value)}
			last = key
		case hasKey && !strings.Contains(key, ":"):
			return spec, fmt.Errorf("unknown part %q (want name, attributes or resources)", key)
		case item == "":
			if i == 0 || last == "" {
				return spec, fmt.Errorf("empty part at ';' %d", i)
			}
			// A trailing or doubled ';' inside a list is harmless.
		case last == "attributes" || last == "resources":
			parts[last] = append(parts[last], item)
		case last == "":
			return spec, fmt.Errorf("part %q: want key=value (name, attributes or resources)", item)
		default:
			return spec, fmt.Errorf("part %q after %s: want key=value (a ';' continues only attributes or resources)", item, last)
		}
	}
	name, ok := parts["name"]
	if !ok {
		return spec, fmt.Errorf("name: missing (name=HOST is required)")
	}
	spec.Name = name[0]
	if err := checkHostname(spec.Name); err != nil {
		return spec, fmt.Errorf("name: %w", err)
	}
	if v, ok := parts["attributes"]; ok {
		var items []string
		for _, p := range v {
			for _, a := range splitOutsideBrackets(p, ',') {
				if a = strings.TrimSpace(a); a != "" {
					items = append(items, a)
				}
			}
		}
		if len(items) == 0 {
			return spec, fmt.Errorf("attributes: empty (leave the part out to keep --attributes)")
		}
		spec.Attributes = strings.Join(items, ";")
		if _, err := agent.ParseAttributes(spec.Attributes); err != nil {
			return spec, fmt.Errorf("attributes: %w", err)
		}
	}
	if v, ok := parts["resources"]; ok {
		spec.Resources = strings.Join(nonEmpty(v), ";")
		if spec.Resources == "" {
			return spec, fmt.Errorf("resources: empty (leave the part out to keep --resources)")
		}
		if strings.HasPrefix(spec.Resources, "[") {
			return spec, fmt.Errorf("resources: JSON is not accepted here; use cpus:4;mem:4096")
		}
		if _, err := agent.ParseResources(spec.Resources); err != nil {
			return spec, fmt.Errorf("resources: %w", err)
		}
	}
	return spec, nil
}

// splitOutsideBrackets splits s at sep, except inside [...] and {...}
// (range and set values such as [1-2,5-6] hold commas).
func splitOutsideBrackets(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkHostname accepts RFC 1123 host names (letters, digits, '-' and '.',
// labels of 1-63 bytes, 253 bytes in all).
func checkHostname(h string) error {
	if h == "" {
		return fmt.Errorf("empty")
	}
	if len(h) > 253 {
		return fmt.Errorf("%q is longer than 253 bytes", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q is not a host name (labels of 1-63 characters separated by '.')", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a host name (a label starts or ends with '-')", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q is not a host name (character %q)", h, r)
			}
		}
	}
	return nil
}

// ApplyAgentSpecs gives cfg one agent per spec, in order, as agents 1..n:
// their hostnames, and their attributes and resources where given (the
// rest keep cfg.Attributes and cfg.Resources). cfg.Agents may be larger
// than len(specs): the agents after them keep the defaults (and the
// default names, local-agent-N). Hostnames must be unique.
func ApplyAgentSpecs(cfg *Config, specs []AgentSpec) error {
	if len(specs) == 0 {
		return nil
	}
	if cfg.Agents < len(specs) {
		cfg.Agents = len(specs)
	}
	if len(cfg.Hostnames) > 0 {
		return fmt.Errorf("give agent names with --agent or --hostnames, not both")
	}
	seen := map[string]int{}
	for i := 0; i < cfg.Agents; i++ {
		name := fmt.Sprintf("local-agent-%d", i+1)
		if i < len(specs) {
			name = specs[i].Name
		}
		if j, dup := seen[name]; dup {
			return fmt.Errorf("agents %d and %d are both named %q", j+1, i+1, name)
		}
		seen[name] = i
	}
	if cfg.PerAgent == nil {
		cfg.PerAgent = map[int]AgentOverride{}
	}
	for i, s := range specs {
		cfg.PerAgent[i] = AgentOverride{Hostname: s.Name, Attributes: s.Attributes, Resources: s.Resources}
	}
	return nil
}
