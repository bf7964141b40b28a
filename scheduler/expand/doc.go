// Package expand turns loops and templates into concrete work: withItems and
// withSequence expand a task into instances whose command, args and env get
// {{item}} substituted per instance (lazily: a sequence of ten million costs
// a few words), and job templates with parameters are instantiated by name
// into a validated job.Spec.
//
// Placeholders (the Argo syntax):
//
//	{{item}}                  the instance's item: a string as is, a number
//	                          as written, an object or list as JSON
//	{{item.field}}            a field of an object item (dotted for nesting)
//	{{index}}                 the instance's index (also in $GLEANER_INDEX)
//	{{inputs.parameters.x}}   a parameter of the job or template
//	{{tasks.t.outputs.parameters.p}}
//	                          an upstream task's output parameter (over
//	                          several instances, a JSON list of them);
//	                          {{tasks.t.instances.3.outputs.parameters.p}}
//	                          one instance's; rendered at launch
//	                          (Expanded.InstanceWith, an OutputSource)
//
// Anything else between {{ and }} is an error naming the field.
package expand
