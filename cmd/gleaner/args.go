package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Flags after arguments (`gleaner job get ID -o yaml`): urfave/cli stops
// reading flags at the first argument, as Go's flag package does, so the
// arguments are put in order before the app parses them: every flag of
// the command (with its value) first, then the arguments. "--" ends the
// flags; what follows it stays an argument.

// runApp runs app on args (args[0] is the program) with flags moved
// before the arguments of the command they belong to.
func runApp(app *cli.App, args []string) error {
	return app.Run(flagsFirst(app.Commands, args))
}

// flagsFirst finds the command args name (following subcommand names)
// and reorders what comes after it so its flags precede its arguments.
func flagsFirst(commands []*cli.Command, args []string) []string {
	if len(args) < 2 {
		return args
	}
	i := 1
	var cmd *cli.Command
	for i < len(args) {
		next := findCommand(commands, args[i])
		if next == nil {
			break
		}
		cmd, commands = next, next.Subcommands
		i++
	}
	if cmd == nil || isGroup(cmd) {
		return args // a group or no command: nothing to reorder
	}
	out := append([]string{}, args[:i]...)
	flags, positional := splitFlags(cmd.Flags, args[i:])
	out = append(out, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
	}
	return append(out, positional...)
}

// isGroup reports whether c has subcommands of its own (urfave/cli adds
// "help" to a command once it has run).
func isGroup(c *cli.Command) bool {
	for _, s := range c.Subcommands {
		if !s.HasName("help") {
			return true
		}
	}
	return false
}

func findCommand(commands []*cli.Command, name string) *cli.Command {
	for _, c := range commands {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// splitFlags separates flags (with the value of a flag that takes one)
// from positional arguments.
func splitFlags(defs []cli.Flag, args []string) (flags, positional []string) {
	for k := 0; k < len(args); k++ {
		a := args[k]
		if a == "--" {
			return flags, append(positional, args[k+1:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasValue && takesValue(defs, name) && k+1 < len(args) {
			k++
			flags = append(flags, args[k])
		}
	}
	return flags, positional
}

// takesValue reports whether the flag called name takes a value (every
// kind but a bool does; an unknown flag is left to the parser).
func takesValue(defs []cli.Flag, name string) bool {
	for _, f := range defs {
		for _, n := range f.Names() {
			if n == name {
				tv, ok := f.(interface{ TakesValue() bool })
				return ok && tv.TakesValue()
			}
		}
	}
	return false
}
