package templates

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/expand"
)

// Memory is the in-memory Store, for tests and single-process use.
type Memory struct {
	lim Limits
	now func() time.Time
	mu  sync.Mutex
	m   map[string][]*Version // oldest first
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store with limits lim.
func NewMemory(lim Limits) *Memory {
	return &Memory{lim: lim.withDefaults(), now: time.Now, m: map[string][]*Version{}}
}

// copyVersion deep-copies v so callers never share the stored value.
func copyVersion(v *Version) *Version {
	b, _ := json.Marshal(v)
	var out Version
	_ = json.Unmarshal(b, &out)
	return &out
}

func (s *Memory) Push(_ context.Context, name string, t *expand.Template, by string) (*Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.m[name]
	if len(vs) == 0 && len(s.m) >= s.lim.MaxTemplates {
		return nil, fmt.Errorf("push template %s: %w (%d stored)", name, ErrTooMany, len(s.m))
	}
	next := 1
	if len(vs) > 0 {
		next = vs[len(vs)-1].Version + 1
	}
	v := copyVersion(&Version{Name: name, Version: next, Created: s.now().UTC(), By: by, Template: *t})
	vs = append(vs, v)
	if len(vs) > s.lim.KeepVersions {
		vs = slices.Clone(vs[len(vs)-s.lim.KeepVersions:])
	}
	s.m[name] = vs
	return copyVersion(v), nil
}

func (s *Memory) Get(_ context.Context, name string, version int) (*Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.m[name]
	if len(vs) == 0 {
		return nil, fmt.Errorf("template %s: %w", name, ErrNotFound)
	}
	if version == 0 {
		return copyVersion(vs[len(vs)-1]), nil
	}
	for _, v := range vs {
		if v.Version == version {
			return copyVersion(v), nil
		}
	}
	return nil, fmt.Errorf("template %s version %d: %w", name, version, ErrNotFound)
}

func (s *Memory) List(context.Context) ([]Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Summary, 0, len(s.m))
	for _, vs := range s.m {
		out = append(out, summarize(vs))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Memory) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[name]; !ok {
		return fmt.Errorf("template %s: %w", name, ErrNotFound)
	}
	delete(s.m, name)
	return nil
}
