package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/rootfs"
)

func init() {
	register(&cli.Command{
		Name:  "rootfs",
		Usage: "build, inspect and publish root filesystem bundles for tasks",
		Subcommands: []*cli.Command{
			{
				Name:      "build",
				Usage:     "build a deterministic bundle from a directory, rootfs tarball or OCI/Docker image tarball",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "base", Usage: "base tree: DIR, rootfs.tar[.gz], or an image tarball (docker save / OCI layout)"},
					&cli.StringSliceFlag{Name: "add", Usage: "copy host SRC to bundle path DST (SRC:DST; repeatable; DST ending in / keeps the file name)"},
					&cli.StringFlag{Name: "out", Usage: "bundle file to write (.tar.gz)", Required: true},
					&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return fmt.Errorf("rootfs build: unexpected arguments %v", c.Args().Slice())
					}
					opt := rootfs.BuildOptions{Base: c.String("base")}
					for _, a := range c.StringSlice("add") {
						add, err := rootfs.ParseAdd(a)
						if err != nil {
							return err
						}
						opt.Adds = append(opt.Adds, add)
					}
					res, err := rootfs.BuildFile(c.Context, opt, c.String("out"))
					if err != nil {
						return fmt.Errorf("rootfs build: %w", err)
					}
					if c.Bool("json") {
						return printJSON(c, map[string]any{"path": c.String("out"), "digest": res.Digest, "size": res.Size,
							"entries": res.Manifest.Entries, "bytes": res.Manifest.Bytes})
					}
					fmt.Fprintf(c.App.Writer, "%s  %s  (%d bytes, %d entries)\n", res.Digest, c.String("out"), res.Size, res.Manifest.Entries)
					return nil
				},
			},
			{
				Name:      "inspect",
				Usage:     "print a bundle's digest and manifest",
				ArgsUsage: "BUNDLE",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "tree", Usage: "include every entry"}},
				Action: func(c *cli.Context) error {
					args, tree := trailingFlag(c.Args().Slice(), "tree", "")
					if len(args) != 1 {
						return fmt.Errorf("rootfs inspect: want one BUNDLE argument")
					}
					info, err := rootfs.Inspect(args[0])
					if err != nil {
						return err
					}
					if !c.Bool("tree") && tree == "" {
						info.Manifest.Tree = nil
					}
					return printJSON(c, info)
				},
			},
			{
				Name:      "publish",
				Usage:     "copy a bundle to a store under its content-addressed name sha256-<hex>.tar.gz",
				ArgsUsage: "BUNDLE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "to", Usage: "file:///dir/ or http(s)://host/prefix/ (PUT); may follow BUNDLE"},
				},
				Action: func(c *cli.Context) error {
					args, to := trailingFlag(c.Args().Slice(), "to", c.String("to"))
					if len(args) != 1 {
						return fmt.Errorf("rootfs publish: want one BUNDLE argument")
					}
					if to == "" {
						return fmt.Errorf("rootfs publish: --to is required (file:///dir/ or http(s)://...)")
					}
					uri, digest, err := rootfs.Publish(c.Context, args[0], to)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "%s  %s\n", digest, uri)
					return nil
				},
			},
		},
	})
}

func printJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// trailingFlag pulls "--name VALUE" / "--name=VALUE" (or a bare boolean
// "--name", value "true") out of positional arguments, since urfave/cli stops
// parsing flags at the first positional argument; def is kept when absent.
func trailingFlag(args []string, name, def string) ([]string, string) {
	var rest []string
	val := def
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--"+name || a == "-"+name:
			if name == "tree" {
				val = "true"
			} else if i+1 < len(args) {
				val = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--"+name+"="):
			val = strings.TrimPrefix(a, "--"+name+"=")
		default:
			rest = append(rest, a)
		}
	}
	return rest, val
}
