package templatetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/templates"
)

// Factory returns a fresh, empty store with the given limits.
type Factory func(t *testing.T, lim templates.Limits) templates.Store

// Run runs the contract suite.
func Run(t *testing.T, newStore Factory) {
	t.Run("Versions", func(t *testing.T) { testVersions(t, newStore) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, newStore) })
	t.Run("CountBound", func(t *testing.T) { testCountBound(t, newStore) })
	t.Run("ListAndDelete", func(t *testing.T) { testListAndDelete(t, newStore) })
	t.Run("ConcurrentPushes", func(t *testing.T) { testConcurrentPushes(t, newStore) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// sample is a template whose command says which push it came from.
func sample(name, mark string) *expand.Template {
	def := "4"
	return &expand.Template{Name: name, Parameters: []expand.Param{{Name: "shards", Default: &def}},
		Spec: map[string]any{"name": name, "tasks": []any{map[string]any{"name": "t", "command": "echo " + mark,
			"instances": "{{inputs.parameters.shards}}"}}}}
}

func command(v *templates.Version) string {
	return v.Template.Spec.(map[string]any)["tasks"].([]any)[0].(map[string]any)["command"].(string)
}

func testVersions(t *testing.T, newStore Factory) {
	s := newStore(t, templates.Limits{})
	c := ctx(t)
	if _, err := s.Get(c, "etl", 0); !errors.Is(err, templates.ErrNotFound) {
		t.Fatalf("Get of an unknown name = %v, want ErrNotFound", err)
	}
	for i := 1; i <= 3; i++ {
		v, err := s.Push(c, "etl", sample("etl", fmt.Sprint("push", i)), "admin")
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != i || v.Name != "etl" || v.By != "admin" || v.Created.IsZero() {
			t.Fatalf("push %d stored %+v", i, v)
		}
	}
	latest, err := s.Get(c, "etl", 0)
	if err != nil || latest.Version != 3 || command(latest) != "echo push3" {
		t.Fatalf("Get latest = %+v, %v; want version 3 of push3", latest, err)
	}
	v1, err := s.Get(c, "etl", 1)
	if err != nil || v1.Version != 1 || command(v1) != "echo push1" {
		t.Fatalf("Get version 1 = %+v, %v; want push1, unchanged by later pushes", v1, err)
	}
	if *v1.Template.Parameters[0].Default != "4" {
		t.Fatalf("parameters not kept: %+v", v1.Template.Parameters)
	}
	if _, err := s.Get(c, "etl", 4); !errors.Is(err, templates.ErrNotFound) {
		t.Fatalf("Get of a version never pushed = %v, want ErrNotFound", err)
	}
	// A returned version is a copy: changing it changes nothing stored.
	v1.Template.Spec.(map[string]any)["name"] = "changed"
	if again, _ := s.Get(c, "etl", 1); again.Template.Spec.(map[string]any)["name"] != "etl" {
		t.Fatal("a caller's change to a returned version reached the store")
	}
}

func testPrune(t *testing.T, newStore Factory) {
	s := newStore(t, templates.Limits{KeepVersions: 3})
	c := ctx(t)
	for i := 1; i <= 5; i++ {
		if _, err := s.Push(c, "etl", sample("etl", fmt.Sprint("push", i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, gone := range []int{1, 2} {
		if _, err := s.Get(c, "etl", gone); !errors.Is(err, templates.ErrNotFound) {
			t.Fatalf("version %d beyond the 3 kept: Get = %v, want ErrNotFound", gone, err)
		}
	}
	for _, kept := range []int{3, 4, 5} {
		if v, err := s.Get(c, "etl", kept); err != nil || command(v) != fmt.Sprint("echo push", kept) {
			t.Fatalf("version %d: %+v, %v", kept, v, err)
		}
	}
	l, err := s.List(c)
	if err != nil || len(l) != 1 || l[0].Latest != 5 || fmt.Sprint(l[0].Versions) != "[3 4 5]" {
		t.Fatalf("List = %+v, %v; want etl latest 5, versions [3 4 5]", l, err)
	}
	// Pruning never frees a number: the next push is 6.
	if v, err := s.Push(c, "etl", sample("etl", "push6"), ""); err != nil || v.Version != 6 {
		t.Fatalf("push after pruning = %+v, %v; want version 6", v, err)
	}
}

func testCountBound(t *testing.T, newStore Factory) {
	s := newStore(t, templates.Limits{MaxTemplates: 2})
	c := ctx(t)
	for _, n := range []string{"a", "b"} {
		if _, err := s.Push(c, n, sample(n, n), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Push(c, "c", sample("c", "c"), ""); !errors.Is(err, templates.ErrTooMany) {
		t.Fatalf("a third name with MaxTemplates 2: %v, want ErrTooMany", err)
	}
	if _, err := s.Push(c, "a", sample("a", "a2"), ""); err != nil {
		t.Fatalf("a new version of a stored name is not a new template: %v", err)
	}
	if err := s.Delete(c, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(c, "c", sample("c", "c"), ""); err != nil {
		t.Fatalf("after a delete there is room: %v", err)
	}
}

func testListAndDelete(t *testing.T, newStore Factory) {
	s := newStore(t, templates.Limits{})
	c := ctx(t)
	if l, err := s.List(c); err != nil || len(l) != 0 {
		t.Fatalf("List of an empty store = %+v, %v", l, err)
	}
	for _, n := range []string{"zeta", "alpha", "alpha"} {
		if _, err := s.Push(c, n, sample(n, n), ""); err != nil {
			t.Fatal(err)
		}
	}
	// A name that is a prefix of another is a different template.
	if _, err := s.Push(c, "alph", sample("alph", "x"), ""); err != nil {
		t.Fatal(err)
	}
	l, err := s.List(c)
	if err != nil || len(l) != 3 || l[0].Name != "alph" || l[1].Name != "alpha" || l[1].Latest != 2 || l[2].Name != "zeta" {
		t.Fatalf("List = %+v, %v; want alph, alpha (latest 2), zeta", l, err)
	}
	if l[1].Updated.IsZero() || len(l[1].Parameters) != 1 {
		t.Fatalf("summary lacks the update time or the parameters: %+v", l[1])
	}
	if err := s.Delete(c, "alpha"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(c, "alpha"); !errors.Is(err, templates.ErrNotFound) {
		t.Fatalf("Delete twice = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(c, "alph", 0); err != nil {
		t.Fatalf("deleting alpha deleted alph: %v", err)
	}
	if v, err := s.Push(c, "alpha", sample("alpha", "again"), ""); err != nil || v.Version != 1 {
		t.Fatalf("push after delete = %+v, %v; want version 1", v, err)
	}
}

func testConcurrentPushes(t *testing.T, newStore Factory) {
	s := newStore(t, templates.Limits{KeepVersions: 100})
	c := ctx(t)
	const n = 8
	var wg sync.WaitGroup
	got := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Push(c, "etl", sample("etl", fmt.Sprint(i)), "")
			if err != nil {
				t.Error(err)
				return
			}
			got <- v.Version
		}()
	}
	wg.Wait()
	close(got)
	seen := map[int]bool{}
	for v := range got {
		if seen[v] {
			t.Fatalf("version %d given to two pushes", v)
		}
		seen[v] = true
	}
	for v := 1; v <= n; v++ {
		if !seen[v] {
			t.Fatalf("versions %v: want 1..%d", seen, n)
		}
	}
}
