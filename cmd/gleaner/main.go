package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// commands collects the subcommands; each subcommand group registers itself
// from its own file with register, so groups can be added independently.
var commands []*cli.Command

func register(c ...*cli.Command) { commands = append(commands, c...) }

func newApp() *cli.App {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	return &cli.App{
		Name:                 "gleaner",
		Usage:                "batch scheduling on the idle capacity of business hosts, as an Apache Mesos framework",
		Version:              version,
		Commands:             commands,
		EnableBashCompletion: true,
		Suggest:              true,
		Action:               unknownCommand,
	}
}

func main() {
	if err := runApp(newApp(), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "gleaner:", err)
		os.Exit(1)
	}
}
