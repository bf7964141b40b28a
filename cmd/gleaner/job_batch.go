package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/compose"
	"github.com/gleaner-project/gleaner/scheduler/expand"
	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Batch-model parts of `gleaner job`: compose files and templates on
// submit, suspend / resume / retry.

// submitFlags are submit's flags for compose files and templates.
func submitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "images", EnvVars: []string{"GLEANER_IMAGES"}, Usage: "image→bundle map (YAML/JSON) for compose files, see scheduler/compose/README.md"},
		&cli.StringFlag{Name: "name", Usage: "job name for a compose file without the project_name label"},
		&cli.BoolFlag{Name: "unmapped-host", Usage: "run compose services whose image has no bundle on the agent's filesystem instead of failing"},
		&cli.StringFlag{Name: "template", Aliases: []string{"t"}, Usage: "instantiate the job template NAME from --templates instead of reading -f"},
		&cli.StringFlag{Name: "templates", Value: "templates", EnvVars: []string{"GLEANER_TEMPLATES"}, Usage: "directory of job templates (*.yaml, *.yml, *.json)"},
		&cli.StringSliceFlag{Name: "param", Aliases: []string{"p"}, Usage: "template parameter k=v (repeatable)"},
	}
}

// specDocument turns what was read for submit into a spec document: a
// compose file is converted (warnings on stderr), a template instantiated.
func specDocument(c *cli.Context, data []byte) ([]byte, error) {
	if name := c.String("template"); name != "" {
		return templateDocument(c, name)
	}
	if !compose.IsCompose(data) {
		return pinSpecBundles(data, hashFile, c.App.ErrWriter)
	}
	opt := compose.Options{Name: c.String("name")}
	if f := c.String("file"); f != "" && f != "-" {
		if abs, err := filepath.Abs(f); err == nil {
			opt.Dir = filepath.Dir(abs)
		}
	}
	if c.Bool("unmapped-host") {
		opt.Unmapped = compose.UnmappedHost
	}
	if f := c.String("images"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read image map: %w", err)
		}
		if b, err = pinImageMap(b, hashFile, c.App.ErrWriter); err != nil {
			return nil, fmt.Errorf("--images %s: %w", f, err)
		}
		if opt.Images, err = compose.ParseImages(b); err != nil {
			return nil, err
		}
	}
	res, err := compose.Convert(data, opt)
	if err != nil {
		return nil, fmt.Errorf("convert compose file: %w%s", err, composeHint(err, c.String("name") != ""))
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(c.App.ErrWriter, "compose:", w)
	}
	return json.Marshal(res.Spec)
}

// composeHint names the flag that mends a compose conversion error.
func composeHint(err error, nameGiven bool) string {
	switch {
	case errors.Is(err, compose.ErrUnmappedImage):
		return " (give --images FILE mapping the image to a rootfs bundle, or --unmapped-host to run it on the agent's own filesystem)"
	case errors.Is(err, compose.ErrNoName):
		return " (give --name NAME)"
	}
	if fe, ok := spec.AsFieldError(err); ok && fe.Field == "name" && nameGiven {
		return " (from --name)"
	}
	return ""
}

func templateDocument(c *cli.Context, name string) ([]byte, error) {
	reg := expand.NewRegistry()
	dir := c.String("templates")
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml", "*.json"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read template: %w", err)
		}
		t, err := expand.ParseTemplate(b)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
		if err := reg.Add(t); err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
	}
	args := map[string]string{}
	for _, kv := range c.StringSlice("param") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--param %q: want k=v", kv)
		}
		args[k] = v
	}
	sp, err := reg.Instantiate(name, args)
	if err != nil {
		return nil, fmt.Errorf("template %s (from %s): %w", name, dir, err)
	}
	return json.Marshal(sp)
}

// jobVerb posts a batch verb (suspend, resume, retry) for a job.
func jobVerb(verb string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() != 1 {
			return cli.Exit("usage: gleaner job "+verb+" JOB", 2)
		}
		jc, err := newJobClient(c)
		if err != nil {
			return err
		}
		id := c.Args().First()
		var out client.Accepted
		switch verb {
		case "suspend":
			out, err = jc.Suspend(c.Context, id)
		case "resume":
			out, err = jc.Resume(c.Context, id)
		case "retry":
			out, err = jc.Retry(c.Context, id, c.Bool("upstream"))
		default:
			return fmt.Errorf("unknown verb %q", verb)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", verb, err)
		}
		return printOut(c, out, func(w io.Writer) { fmt.Fprintln(w, out.ID, out.State) })
	}
}

func batchCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "suspend", Usage: "suspend a job: nothing new starts, running instances are stopped and run again on resume", ArgsUsage: "JOB", Flags: jobFlags(), Action: jobVerb("suspend")},
		{Name: "resume", Usage: "resume a suspended job", ArgsUsage: "JOB", Flags: jobFlags(), Action: jobVerb("resume")},
		{Name: "retry", Usage: "run the failed part of a finished job again", ArgsUsage: "JOB",
			Flags: append(jobFlags(), &cli.BoolFlag{Name: "upstream", Usage: "also rerun the tasks the failed ones depend on"}), Action: jobVerb("retry")},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
