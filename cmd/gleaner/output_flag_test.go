package main

import (
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every command that talks to the scheduler API takes -o table|json|yaml
// (issue 13).
func TestEveryAPICommandTakesOutput(t *testing.T) {
	var walk func(path string, cs []*cli.Command)
	n := 0
	walk = func(path string, cs []*cli.Command) {
		for _, c := range cs {
			p := path + " " + c.Name
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
				continue
			}
			if !hasFlag(c, "api") {
				continue
			}
			n++
			if !hasFlag(c, "output") {
				t.Errorf("%s reads the API but has no --output/-o", p)
			}
		}
	}
	walk("gleaner", newApp().Commands)
	t.Logf("%d API commands", n)
	if n < 10 {
		t.Fatalf("only %d API commands found: the walk is broken", n)
	}
}

func hasFlag(c *cli.Command, name string) bool {
	for _, f := range c.Flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}
