// Package spec parses job specs (YAML or JSON) into job.Spec and validates
// them; every error is a *fielderr.FieldError naming the field path (tasks[1].resources.cpus).
package spec
