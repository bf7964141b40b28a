package compose

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// ErrUnmappedImage marks the error of a service whose image has no
// bundle in Options.Images (under UnmappedError).
var ErrUnmappedImage = errors.New("image without a rootfs bundle")

// ErrNoName marks the error of a file whose job name could not be found.
var ErrNoName = errors.New("no job name")

// jobName picks the job's name as docker compose picks a project's:
// Options.Name, else the label project_name, else the top-level name:,
// else the base name of Options.Dir made a valid name.
func (c *conv) jobName(top map[string]any, labels map[string]string) (string, error) {
	if c.opt.Name != "" {
		if !spec.ValidName(c.opt.Name) {
			return "", ferr("name", "%q must match [a-z0-9-]{1,63}", c.opt.Name)
		}
		return c.opt.Name, nil
	}
	name, field, err := prefixed(labels, "labels", "project_name")
	if err != nil {
		return "", err
	}
	if name == "" {
		if v, ok := top["name"]; ok {
			s, isStr := v.(string)
			if !isStr || s == "" {
				return "", ferr("name", "must be a non-empty string")
			}
			name, field = s, "name"
		}
	}
	if name != "" {
		if !spec.ValidName(name) {
			return "", ferr(field, "%q must match [a-z0-9-]{1,63}", name)
		}
		return name, nil
	}
	if name = NameFromDir(c.opt.Dir); name != "" {
		return name, nil
	}
	return "", fmt.Errorf("%w: %w", ErrNoName, ferr("name", "required: give a job name (the label gleaner.project_name or a top-level name:), or read the file from a directory whose name can be one"))
}

// NameFromDir makes the base name of dir a job name as docker compose
// makes a project name: lower case, with _ . and spaces as -, other
// bytes dropped, at most 63; "" when nothing is left.
func NameFromDir(dir string) string {
	if dir == "" {
		return ""
	}
	base := filepath.Base(filepath.Clean(dir))
	if base == "/" || base == "." {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == '_', r == '.', r == ' ':
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	if !spec.ValidName(name) {
		return ""
	}
	return name
}
