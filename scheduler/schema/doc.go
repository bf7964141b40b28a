// Package schema keeps the JSON Schema (draft 2020-12) of Gleaner's job spec,
// embedded from job.schema.json, and serves it at GET /v1/schema so editors
// validate jobs as they are written. Tests keep it in step with the Go types.
package schema
