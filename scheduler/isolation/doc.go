// Package isolation decides, without I/O, what a scheduler may promise about
// how its tasks are isolated: which executor it launches with, which specs
// that executor can enforce (the command executor has no bundles, volumes or
// cleanup), and which Unix users tasks and executors run as (never root by
// accident).
package isolation
