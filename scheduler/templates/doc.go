// Package templates keeps job templates in the scheduler (Argo's
// WorkflowTemplates, Batch's job definitions): each push of a template is a
// new immutable version, validated when stored and bounded in size, count
// and versions kept; a version is instantiated with parameters into a job
// spec submitted through the normal submit path. A Store has an etcd and an
// in-memory implementation passing the templatetest contract suite, and
// Handler serves them under /v1/templates.
package templates
