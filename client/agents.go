package client

import (
	"context"
	"encoding/json"
	"net/url"
)

// Agents and their live attributes (/v1/agents). Answers are returned as
// the API's JSON, which scheduler/attrs documents.

func agentPath(host string) string { return "/v1/agents/" + url.PathEscape(host) }

// Agents lists the agents: resources, monitor heartbeat, attributes.
func (c *Client) Agents(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.call(ctx, request{method: "GET", path: "/v1/agents"}, &out)
	return out, err
}

// Attributes returns an agent's etcd attributes.
func (c *Client) Attributes(ctx context.Context, host string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.call(ctx, request{method: "GET", path: agentPath(host) + "/attributes"}, &out)
	return out, err
}

// PatchAttributes sets (a value) or removes (nil) an agent's attributes;
// allowUnknown lets it name a host no agent or monitor has shown yet.
func (c *Client) PatchAttributes(ctx context.Context, host string, patch map[string]*string, allowUnknown bool) (json.RawMessage, error) {
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	r := request{method: "PATCH", path: agentPath(host) + "/attributes", body: b, contentType: "application/json"}
	if allowUnknown {
		r.query = url.Values{"allow-unknown": {"true"}}
	}
	var out json.RawMessage
	err = c.call(ctx, r, &out)
	return out, err
}

// RemoveAttribute removes one attribute of an agent.
func (c *Client) RemoveAttribute(ctx context.Context, host, key string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.call(ctx, request{method: "DELETE", path: agentPath(host) + "/attributes/" + url.PathEscape(key)}, &out)
	return out, err
}

// AttributeHistory lists the changes of an agent's attributes.
func (c *Client) AttributeHistory(ctx context.Context, host string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.call(ctx, request{method: "GET", path: agentPath(host) + "/attributes/history"}, &out)
	return out, err
}
