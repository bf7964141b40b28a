package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds each request unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// maxAnswer bounds a non-streamed answer read into memory.
const maxAnswer = 64 << 20

// leaderPoll is how often a request that found no leader is tried again.
var leaderPoll = 250 * time.Millisecond

// Client calls one scheduler's API. It is safe for concurrent use.
type Client struct {
	base    string
	token   string
	timeout time.Duration
	hc      *http.Client
	// watchRetry is the pause before a broken watch reconnects.
	watchRetry time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends "Authorization: Bearer token" on every request, and on
// a standby's redirect to the leader.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithTimeout bounds each request, a wait for a leader to be elected
// included; a stream (watch, followed logs) is bounded only until its
// answer starts. Default DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithHTTPClient uses hc (its CheckRedirect is replaced so the token
// follows a redirect to the leader).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { cp := *hc; c.hc = &cp }
}

// New returns a client of the API at baseURL (e.g. http://127.0.0.1:8470).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("API URL %q: want http(s)://host[:port]", baseURL)
	}
	c := &Client{base: strings.TrimSuffix(baseURL, "/"), timeout: DefaultTimeout, watchRetry: time.Second}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = c.timeout
		c.hc = &http.Client{Transport: tr}
	}
	c.hc.CheckRedirect = c.keepToken
	return c, nil
}

// BaseURL is the API URL the client calls.
func (c *Client) BaseURL() string { return c.base }

// keepToken follows a standby's 307 to the leader with the token: Go
// drops the Authorization header when the host changes, but the standby
// that redirected has checked it already.
func (c *Client) keepToken(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	if a := via[0].Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	return nil
}

// request is one API call.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
}

func (r request) target() string {
	if len(r.query) == 0 {
		return r.path
	}
	return r.path + "?" + r.query.Encode()
}

// send makes one HTTP request; the caller closes the body of a 2xx
// answer; any other answer becomes an *APIError.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.target(), rd)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if r.body != nil && r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, decodeError(r.method, r.path, resp.StatusCode, b)
}

func decodeError(method, path string, status int, b []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status}
	var body struct {
		Error  string `json:"error"`
		Field  string `json:"field"`
		Code   string `json:"code"`
		Leader string `json:"leader"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error != "" {
		e.Message, e.Field, e.Code, e.Leader = body.Error, body.Field, body.Code, body.Leader
	} else {
		e.Message = fmt.Sprintf("%s %s: HTTP %d: %s", method, path, status, strings.TrimSpace(string(b)))
	}
	return e
}

// call sends r, bounded by the client's timeout, and decodes a JSON
// answer into out (a *json.RawMessage takes it as is; nil drops it).
// While the API answers that no leader is elected it tries again until
// the timeout: a scheduler that just started has not won its election.
func (c *Client) call(ctx context.Context, r request, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for {
		resp, err := c.send(ctx, r)
		if errors.Is(err, ErrNoLeader) {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(leaderPoll):
				continue
			}
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: read answer: %w", r.method, r.path, err)
		}
		switch o := out.(type) {
		case nil:
			return nil
		case *json.RawMessage:
			*o = b
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
		}
		return nil
	}
}

// open starts a streamed GET: the answer must start within the timeout,
// then it flows until ctx ends. The caller closes the body.
func (c *Client) open(ctx context.Context, r request) (io.ReadCloser, error) {
	hctx, cancel := context.WithCancel(ctx)
	t := time.AfterFunc(c.timeout, cancel)
	resp, err := c.send(hctx, r)
	if !t.Stop() && err != nil && ctx.Err() == nil {
		cancel()
		return nil, fmt.Errorf("%s %s: no answer within %v", r.method, r.path, c.timeout)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// Do sends a request to path (e.g. "/v1/agents") with an optional JSON
// body and decodes the JSON answer into out, as every method of Client
// does: for routes the SDK has no method for yet.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	r := request{method: method, path: path}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		r.body, r.contentType = b, "application/json"
	}
	if p, q, ok := strings.Cut(path, "?"); ok {
		v, err := url.ParseQuery(q)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		r.path, r.query = p, v
	}
	return c.call(ctx, r, out)
}
