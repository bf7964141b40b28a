package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// unknownCommand is the app's action: with no command it shows the help;
// a mistyped one (`gleaner jobs list`) is refused with the nearest
// command's name.
func unknownCommand(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	name := c.Args().First()
	msg := fmt.Sprintf("unknown command %q", name)
	if cli.SuggestCommand != nil {
		if s := cli.SuggestCommand(c.App.Commands, name); s != "" {
			msg += ". " + s
		}
	}
	return cli.Exit(msg+" (gleaner help lists the commands)", 2)
}
