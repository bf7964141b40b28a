package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/spec"
	"github.com/gleaner-project/gleaner/scheduler/templates"
)

// `gleaner template`: job templates stored by the scheduler (/v1/templates).

func init() {
	register(&cli.Command{
		Name:  "template",
		Usage: "push, list, show, delete and run job templates stored by the scheduler (versioned)",
		Subcommands: []*cli.Command{
			{Name: "push", Usage: "store a template (YAML or JSON: name, parameters, spec) as its next version", Flags: append(jobFlags(),
				&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Required: true, Usage: "template file (- for stdin)"},
				&cli.StringFlag{Name: "name", Usage: "template name (default: the file's name field, else the file name without extension)"},
			), Action: templatePush},
			{Name: "list", Usage: "list stored templates", Flags: jobFlags(), Action: templateList},
			{Name: "show", Usage: "show a template's latest (or --version) version", ArgsUsage: "NAME", Flags: append(jobFlags(), templateVersionFlag()), Action: templateShow},
			{Name: "delete", Usage: "delete every version of a template", ArgsUsage: "NAME", Flags: jobFlags(), Action: templateDelete},
			{Name: "run", Usage: "submit a job from a stored template (as job submit --template NAME)", ArgsUsage: "NAME", Flags: append(jobFlags(), templateVersionFlag(),
				&cli.StringSliceFlag{Name: "param", Aliases: []string{"p"}, Usage: "template parameter k=v (repeatable)"},
				&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "follow per-task progress until the job ends; exit 0 only if it succeeded"},
				waitFlag(),
			), Action: templateRun},
		},
	})
}

// templateVersionFlag is --version of template show and run, and of
// job submit --template (which it makes use the stored template).
func templateVersionFlag() cli.Flag {
	return &cli.IntFlag{Name: "version", Usage: "template version (default: the latest)"}
}

// templateName picks the name of a pushed template: --name, else the
// document's name field, else the file name without its extension.
func templateName(flagName, file string, doc []byte) (string, error) {
	if flagName != "" {
		return flagName, nil
	}
	js, err := spec.YAMLToJSON("template", doc)
	if err != nil {
		return "", err
	}
	var top struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(js, &top) == nil && top.Name != "" {
		return top.Name, nil
	}
	if file == "-" {
		return "", errors.New("a template from stdin without a name field needs --name")
	}
	return strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), nil
}

func templatePush(c *cli.Context) error {
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	f := c.String("file")
	var doc []byte
	if f == "-" {
		doc, err = io.ReadAll(io.LimitReader(os.Stdin, templates.MaxTemplateBytes+1))
	} else {
		doc, err = os.ReadFile(f)
	}
	if err != nil {
		return fmt.Errorf("read template: %w", err)
	}
	name, err := templateName(c.String("name"), f, doc)
	if err != nil {
		return err
	}
	js, err := spec.YAMLToJSON("template", doc)
	if err != nil {
		return fmt.Errorf("template %s: %w", f, err)
	}
	var out templates.Pushed
	if err := jc.Do(c.Context, "PUT", "/v1/templates/"+url.PathEscape(name), json.RawMessage(js), &out); err != nil {
		return fmt.Errorf("push template %s: %w", name, withHTTPStatus(err))
	}
	return printOut(c, out, func(w io.Writer) {
		if out.Unchanged {
			fmt.Fprintf(w, "%s version %d (unchanged)\n", out.Name, out.Version)
			return
		}
		fmt.Fprintf(w, "%s version %d\n", out.Name, out.Version)
	})
}

func templateList(c *cli.Context) error {
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	var out []templates.Summary
	if err := jc.Do(c.Context, "GET", "/v1/templates", nil, &out); err != nil {
		return fmt.Errorf("list templates: %w", withHTTPStatus(err))
	}
	return printOut(c, out, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tLATEST\tVERSIONS\tUPDATED\tPARAMETERS")
		for _, s := range out {
			var ps []string
			for _, p := range s.Parameters {
				if p.Default != nil {
					ps = append(ps, p.Name+"="+*p.Default)
				} else {
					ps = append(ps, p.Name)
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.Name, s.Latest, joinInts(s.Versions), s.Updated.Format("2006-01-02T15:04:05Z"), dash(strings.Join(ps, " ")))
		}
		tw.Flush()
	})
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

// templatePath is a template's API path, with ?version=N when given.
func templatePath(name string, version int) string {
	p := "/v1/templates/" + url.PathEscape(name)
	if version > 0 {
		p += "?version=" + strconv.Itoa(version)
	}
	return p
}

func oneName(c *cli.Context, usage string) (string, error) {
	if c.NArg() != 1 {
		return "", cli.Exit("usage: gleaner template "+usage, 2)
	}
	return c.Args().First(), nil
}

func templateShow(c *cli.Context) error {
	name, err := oneName(c, "show NAME [--version N]")
	if err != nil {
		return err
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	var v templates.Version
	if err := jc.Do(c.Context, "GET", templatePath(name, c.Int("version")), nil, &v); err != nil {
		return fmt.Errorf("show template %s: %w", name, withHTTPStatus(err))
	}
	if c.String("output") == "table" {
		// The document as pushed (YAML), under a header naming the version.
		b, err := yaml.Marshal(v.Template)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "# %s version %d, pushed %s by %s\n%s", v.Name, v.Version, v.Created.Format("2006-01-02T15:04:05Z"), dash(v.By), b)
		return nil
	}
	return printOut(c, v, nil)
}

func templateDelete(c *cli.Context) error {
	name, err := oneName(c, "delete NAME")
	if err != nil {
		return err
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	var out map[string]string
	if err := jc.Do(c.Context, "DELETE", templatePath(name, 0), nil, &out); err != nil {
		return fmt.Errorf("delete template %s: %w", name, withHTTPStatus(err))
	}
	return printOut(c, out, func(w io.Writer) { fmt.Fprintln(w, name, "deleted") })
}

// templateParams reads -p k=v flags.
func templateParams(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want k=v", kv)
		}
		out[k] = v
	}
	return out, nil
}

func templateRun(c *cli.Context) error {
	name, err := oneName(c, "run NAME [-p k=v ...] [--version N] [--watch]")
	if err != nil {
		return err
	}
	jc, err := newJobClient(c)
	if err != nil {
		return err
	}
	return submitStoredTemplate(c, jc, name)
}

// useStoredTemplate reports whether job submit --template NAME means the
// scheduler's stored template rather than one from a local --templates
// directory: it does when --version is given, or when neither --templates
// (nor $GLEANER_TEMPLATES) is set nor the default ./templates directory
// exists.
func useStoredTemplate(c *cli.Context) bool {
	if c.String("template") == "" {
		return false
	}
	if c.IsSet("version") {
		return true
	}
	if c.IsSet("templates") {
		return false
	}
	_, err := os.Stat(c.String("templates"))
	return err != nil
}

// submitStoredTemplate instantiates the stored template name with the
// -p parameters (and --version) through POST /v1/templates/{name}/jobs,
// then follows the job with --watch.
func submitStoredTemplate(c *cli.Context, jc *client.Client, name string) error {
	params, err := templateParams(c.StringSlice("param"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var out templates.Submitted
	req := templates.RunRequest{Version: c.Int("version"), Params: params}
	if err := jc.Do(ctx, "POST", "/v1/templates/"+url.PathEscape(name)+"/jobs", req, &out); err != nil {
		return fmt.Errorf("submit from template %s: %w", name, withHTTPStatus(err))
	}
	if !c.Bool("watch") {
		return printOut(c, out, func(w io.Writer) { fmt.Fprintln(w, out.ID) })
	}
	fmt.Fprintf(c.App.ErrWriter, "submitted %s (template %s version %d)\n", out.ID, out.Template, out.Version)
	ctx, cancel := watchContext(ctx, c)
	defer cancel()
	return jobWatch(ctx, c, jc, out.ID)
}
