package reserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/apierrors"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpmaster"
	"github.com/mesos/mesos-go/api/v1/lib/master"
	"github.com/mesos/mesos-go/api/v1/lib/master/calls"

	"github.com/gleaner-project/gleaner/monitor/policy"
)

// Config of a Client.
type Config struct {
	// MasterURL is the master's base URL, e.g. http://127.0.0.1:5050; the
	// operator endpoint /api/v1 is appended.
	MasterURL string
	// Hostname of the agent whose reservation is managed.
	Hostname string
	// Role the resources are reserved for.
	Role string
	// Principal recorded in the reservation and used for HTTP basic
	// authentication together with Secret (when Secret is set).
	Principal string
	Secret    string
	// Timeout of each call (default 10s).
	Timeout time.Duration
}

// Errors callers may test with errors.Is.
var (
	// ErrAgentNotFound: no active agent with the hostname is registered.
	ErrAgentNotFound = errors.New("agent not registered with the master")
	// ErrConflict: the master answered 409 (resources in use or gone).
	ErrConflict = errors.New("master refused: insufficient resources (409)")
)

// Client reads and changes one agent's dynamic reservation for one role
// through the master's operator API (protobuf codec).
type Client struct {
	cfg    Config
	sender calls.Sender
}

// Reservations is what the monitor needs from the master; Client is the
// real one.
type Reservations interface {
	State(ctx context.Context) (State, error)
	Apply(ctx context.Context, target policy.Resources) (Result, error)
}

var _ Reservations = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.MasterURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("master url %q: want http(s)://host:port", cfg.MasterURL)
	}
	if cfg.Hostname == "" {
		return nil, errors.New("agent hostname: must be set")
	}
	if cfg.Role == "" || cfg.Role == "*" {
		return nil, fmt.Errorf("role %q: must name a role other than *", cfg.Role)
	}
	if cfg.Secret != "" && cfg.Principal == "" {
		return nil, errors.New("principal: must be set when a secret is given")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	endpoint := strings.TrimRight(u.String(), "/") + "/api/v1"
	opts := []httpcli.ConfigOpt{httpcli.Timeout(cfg.Timeout)}
	if cfg.Secret != "" {
		opts = append(opts, httpcli.BasicAuth(cfg.Principal, cfg.Secret))
	}
	cli := httpcli.New(
		httpcli.Endpoint(endpoint),
		httpcli.Codec(httpcli.DefaultCodec), // protobuf: tolerant of newer masters' enums
		httpcli.Do(httpcli.With(opts...)),
	)
	return &Client{cfg: cfg, sender: httpmaster.NewSender(cli.Send)}, nil
}

// State reads the agent's reservation for the role (GET_AGENTS).
func (c *Client) State(ctx context.Context) (State, error) {
	resp, err := c.sender.Send(ctx, calls.NonStreaming(calls.GetAgents()))
	if err != nil {
		return State{}, fmt.Errorf("get agents from %s: %w", c.cfg.MasterURL, err)
	}
	defer resp.Close()
	var r master.Response
	if err := resp.Decode(&r); err != nil {
		return State{}, fmt.Errorf("decode get agents response: %w", err)
	}
	st, ok := stateFrom(r.GetAgents, c.cfg.Hostname, c.cfg.Role)
	if !ok {
		return State{}, fmt.Errorf("agent %s: %w", c.cfg.Hostname, ErrAgentNotFound)
	}
	return st, nil
}

// Result of Apply.
type Result struct {
	// Before is the master's view read first.
	Before State
	// Done are the operations the master accepted.
	Done []Op
	// Reserved is the reservation after them (Before.Reserved ± Done).
	Reserved policy.Resources
	// Partial: some of the difference could not be moved now (in use, or
	// refused with 409); try again later.
	Partial bool
}

// Apply reads the master's view and reserves or unreserves the difference
// to target. It is idempotent: the difference is always computed from the
// master's current reservation, so a restarted monitor never
// double-reserves. A 409 leaves that resource for a later attempt and is
// returned wrapped in ErrConflict after the other operations ran.
func (c *Client) Apply(ctx context.Context, target policy.Resources) (Result, error) {
	st, err := c.State(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{Before: st, Reserved: st.Reserved}
	var errs []error
	for _, op := range Plan(st, target) {
		res.Partial = res.Partial || op.Partial
		err := c.do(ctx, st, op)
		if err != nil {
			if isConflict(err) {
				res.Partial = true
				err = fmt.Errorf("%s %.3f %s on %s: %w", op.Kind, op.Amount, op.Name, st.AgentID, ErrConflict)
			}
			errs = append(errs, err)
			continue
		}
		res.Done = append(res.Done, op)
		sign := 1.0
		if op.Kind == Unreserve {
			sign = -1
		}
		if op.Name == "cpus" {
			res.Reserved.CPUs += sign * op.Amount
		} else {
			res.Reserved.MemMB += sign * op.Amount
		}
	}
	return res, errors.Join(errs...)
}

func (c *Client) do(ctx context.Context, st State, op Op) error {
	var call *master.Call
	agent := mesos.AgentID{Value: st.AgentID}
	if op.Kind == Reserve {
		call = calls.ReserveResources(agent, c.reservation(op.Name, op.Amount))
	} else {
		rs := unreserveFrom(st.entries, op.Name, op.Amount)
		if len(rs) == 0 {
			return fmt.Errorf("unreserve %.3f %s on %s: no reserved entry listed", op.Amount, op.Name, st.AgentID)
		}
		call = calls.UnreserveResources(agent, rs...)
	}
	if err := calls.SendNoData(ctx, c.sender, calls.NonStreaming(call)); err != nil {
		return fmt.Errorf("%s %.3f %s for role %s on %s: %w", op.Kind, op.Amount, op.Name, c.cfg.Role, st.AgentID, err)
	}
	return nil
}

// reservation builds a dynamically reserved scalar for the role.
func (c *Client) reservation(name string, amount float64) mesos.Resource {
	ri := mesos.Resource_ReservationInfo{
		Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(),
		Role: &c.cfg.Role,
	}
	if c.cfg.Principal != "" {
		ri.Principal = &c.cfg.Principal
	}
	return mesos.Resource{
		Name:         name,
		Type:         mesos.SCALAR.Enum(),
		Scalar:       &mesos.Value_Scalar{Value: round3(amount)},
		Reservations: []mesos.Resource_ReservationInfo{ri},
	}
}

// unreserveFrom takes amount of name from the listed reserved entries,
// keeping each entry's reservation (principal, labels) so the master
// matches it.
func unreserveFrom(entries []mesos.Resource, name string, amount float64) []mesos.Resource {
	var out []mesos.Resource
	for _, e := range entries {
		if e.Name != name || e.Scalar == nil || amount <= 1e-9 {
			continue
		}
		take := math.Min(e.Scalar.Value, amount)
		amount -= take
		stack := e.Reservations
		if len(stack) == 0 && e.Reservation != nil {
			stack = []mesos.Resource_ReservationInfo{{
				Type:      mesos.Resource_ReservationInfo_DYNAMIC.Enum(),
				Role:      e.Role,
				Principal: e.Reservation.Principal,
				Labels:    e.Reservation.Labels,
			}}
		}
		out = append(out, mesos.Resource{
			Name:         name,
			Type:         mesos.SCALAR.Enum(),
			Scalar:       &mesos.Value_Scalar{Value: round3(take)},
			Reservations: stack,
		})
	}
	return out
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// isConflict reports a 409 answer from the master.
func isConflict(err error) bool {
	var apiErr *apierrors.Error
	return errors.As(err, &apiErr) && apierrors.Code(http.StatusConflict).Matches(apiErr)
}
