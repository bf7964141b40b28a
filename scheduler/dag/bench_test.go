package dag

import (
	"fmt"
	"testing"
)

// BenchmarkEvaluate decides a 1,000-task layered DAG (10 layers of 100,
// each task depending on two of the layer before, half by expression).
func BenchmarkEvaluate(b *testing.B) {
	var nodes []Node
	states := map[string]State{}
	for l := range 10 {
		for i := range 100 {
			n := Node{Name: fmt.Sprintf("t-%d-%d", l, i)}
			if l > 0 {
				p1, p2 := fmt.Sprintf("t-%d-%d", l-1, i), fmt.Sprintf("t-%d-%d", l-1, (i+1)%100)
				if i%2 == 0 {
					n.Depends = []string{p1, p2}
				} else {
					n.Expr = p1 + " && !" + p2 + ".killed"
				}
			}
			if l < 5 {
				states[n.Name] = Succeeded
			}
			nodes = append(nodes, n)
		}
	}
	g, err := Compile(nodes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Evaluate(states, nil, Options{FailFast: true}); err != nil {
			b.Fatal(err)
		}
	}
}
