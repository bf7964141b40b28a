package templates

import (
	"context"

	"github.com/gleaner-project/gleaner/scheduler/expand"
)

// Limits bound a Store. Zero fields take the defaults.
type Limits struct {
	// KeepVersions is how many versions of a name are kept (default
	// DefaultKeepVersions); the oldest beyond it are pruned on push.
	KeepVersions int
	// MaxTemplates bounds the number of names (default DefaultMaxTemplates).
	MaxTemplates int
}

func (l Limits) withDefaults() Limits {
	if l.KeepVersions <= 0 {
		l.KeepVersions = DefaultKeepVersions
	}
	if l.MaxTemplates <= 0 {
		l.MaxTemplates = DefaultMaxTemplates
	}
	return l
}

// Store keeps template versions. Version numbers of a name only grow
// while the name exists (pruning never frees a number); Delete removes
// every version, and a later push of the name starts again at 1.
type Store interface {
	// Push stores t as the next version of name and prunes the versions
	// beyond the limit, oldest first. ErrTooMany when name is new and the
	// store holds MaxTemplates names.
	Push(ctx context.Context, name string, t *expand.Template, by string) (*Version, error)
	// Get returns version (0: the latest) of name; ErrNotFound for an
	// unknown name or a version not kept.
	Get(ctx context.Context, name string, version int) (*Version, error)
	// List summarizes every template, sorted by name.
	List(ctx context.Context) ([]Summary, error)
	// Delete removes every version of name; ErrNotFound if there is none.
	Delete(ctx context.Context, name string) error
}

// summarize builds a Summary from a name's versions, oldest first.
func summarize(vs []*Version) Summary {
	last := vs[len(vs)-1]
	s := Summary{Name: last.Name, Latest: last.Version, Updated: last.Created, Parameters: last.Template.Parameters}
	for _, v := range vs {
		s.Versions = append(s.Versions, v.Version)
	}
	return s
}
