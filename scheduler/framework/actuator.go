package framework

import (
	"context"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// actuator carries out on Mesos what the offer and update paths decided:
// with the store, the only effects they have outside the process. The
// framework's is mesosActuator; tests drive the paths with a recording
// fake (harness_test.go).
type actuator interface {
	// accept launches tasks on one offer (one agent and role), refusing
	// its remainder for refuse; it may run concurrently with itself.
	accept(ctx context.Context, offer mesos.OfferID, tasks []mesos.TaskInfo, refuse time.Duration) error
	decline(ctx context.Context, offers []mesos.OfferID, refuse time.Duration) error
	suppress(ctx context.Context) error
	kill(ctx context.Context, taskID, agentID string) error
	// acknowledge may run concurrently with itself (for other tasks).
	acknowledge(ctx context.Context, agentID, taskID string, uuid []byte) error
}

// mesosActuator sends the calls on the framework's subscription; ACCEPTs
// and ACKNOWLEDGEs go on the concurrent fast path (accept.go).
type mesosActuator struct{ f *Framework }

func (m mesosActuator) accept(ctx context.Context, offer mesos.OfferID, tasks []mesos.TaskInfo, refuse time.Duration) error {
	return m.f.callConcurrent(ctx, calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(offer)).With(calls.RefuseSeconds(refuse)))
}

func (m mesosActuator) decline(ctx context.Context, offers []mesos.OfferID, refuse time.Duration) error {
	return calls.CallNoData(ctx, m.f.caller, calls.Decline(offers...).With(calls.RefuseSeconds(refuse)))
}

func (m mesosActuator) suppress(ctx context.Context) error {
	return calls.CallNoData(ctx, m.f.caller, calls.SuppressWith(m.f.cfg.Roles))
}

func (m mesosActuator) kill(ctx context.Context, taskID, agentID string) error {
	return calls.CallNoData(ctx, m.f.caller, calls.Kill(taskID, agentID))
}

func (m mesosActuator) acknowledge(ctx context.Context, agentID, taskID string, uuid []byte) error {
	return m.f.callConcurrent(ctx, calls.Acknowledge(agentID, taskID, uuid))
}
