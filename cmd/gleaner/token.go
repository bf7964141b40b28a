package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/auth"
)

func init() {
	register(&cli.Command{
		Name:  "token",
		Usage: "manage API tokens (one per person or dashboard: the audit records name them, and one leaked is revoked alone)",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "list the tokens' names, roles and creation times (never their secrets)", Flags: jobFlags(), Action: tokenList},
			{Name: "create", Usage: "create a token; its secret is printed (or written to --out) this once", ArgsUsage: "NAME",
				Flags: append(jobFlags(),
					&cli.StringFlag{Name: "role", Value: string(auth.ReadOnly), Usage: "admin or read-only"},
					&cli.StringFlag{Name: "out", Usage: "write the secret to this file (mode 0600) instead of printing it"}),
				Action: tokenCreate},
			{Name: "revoke", Usage: "revoke a token at once on every scheduler (never the last admin token)", ArgsUsage: "NAME", Flags: jobFlags(), Action: tokenRevoke},
		},
	})
}

func tokenList(c *cli.Context) error {
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	ts, err := jc.Tokens(c.Context)
	if err != nil {
		return fmt.Errorf("token list: %w", err)
	}
	return printOut(c, ts, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, t.Created.Format(time.RFC3339))
		}
		tw.Flush()
	})
}

func tokenCreate(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("usage: gleaner token create NAME [--role admin|read-only] [--out FILE]")
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	t, err := jc.CreateToken(c.Context, c.Args().First(), c.String("role"))
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	if out := c.String("out"); out != "" {
		if err := auth.WriteTokenFile(out, t.Secret); err != nil {
			return fmt.Errorf("token create: --out: %w", err)
		}
		fmt.Fprintf(c.App.ErrWriter, "token %s (%s) written to %s\n", t.Name, t.Role, out)
		return nil
	}
	return printOut(c, t, func(w io.Writer) {
		fmt.Fprintln(w, t.Secret)
		fmt.Fprintf(c.App.ErrWriter, "token %s (%s): the secret above is shown this once\n", t.Name, t.Role)
	})
}

func tokenRevoke(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("usage: gleaner token revoke NAME")
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	if err := jc.RevokeToken(c.Context, c.Args().First()); err != nil {
		return fmt.Errorf("token revoke: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "token %s revoked\n", c.Args().First())
	return nil
}
