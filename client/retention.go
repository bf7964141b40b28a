package client

import (
	"context"
	"net/url"
	"time"
)

// Purge deletes a finished job's records (job, attempts, work queue); a
// job that has not finished is refused with a 409 *APIError (kill it
// first). A scheduled job goes with its finished runs.
func (c *Client) Purge(ctx context.Context, id string) (Accepted, error) {
	return c.verb(ctx, "POST", jobPath(id)+"/purge", nil)
}

// Token is an API token as the scheduler lists it: never its secret.
type Token struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"` // "admin" or "read-only"
	Created time.Time `json:"created"`
}

// CreatedToken is a new token with its secret, which the scheduler
// answers this once.
type CreatedToken struct {
	Token
	Secret string `json:"token"`
}

// Tokens lists the API tokens (needs a read-only token at least).
func (c *Client) Tokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := c.Do(ctx, "GET", "/v1/tokens", nil, &out)
	return out, err
}

// CreateToken makes a token named name with role "admin" or "read-only"
// (needs an admin token).
func (c *Client) CreateToken(ctx context.Context, name, role string) (CreatedToken, error) {
	var out CreatedToken
	err := c.Do(ctx, "POST", "/v1/tokens", map[string]string{"name": name, "role": role}, &out)
	return out, err
}

// RevokeToken deletes a token; the last admin token cannot be revoked.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.Do(ctx, "DELETE", "/v1/tokens/"+url.PathEscape(name), nil, nil)
}
