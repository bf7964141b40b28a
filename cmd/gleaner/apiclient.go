package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/auth"
)

// Every command that calls the scheduler API takes these flags.
const defaultRequestTimeout = 30 * time.Second

func apiClientFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "api", Value: "http://127.0.0.1:8470", EnvVars: []string{"GLEANER_API"}, Usage: "scheduler API base URL"},
		&cli.StringFlag{Name: "token", Usage: "bearer token (else --token-file, $GLEANER_TOKEN, then " + auth.DefaultClientTokenFile() + ")"},
		&cli.StringFlag{Name: "token-file", Usage: "file holding the bearer token"},
		&cli.DurationFlag{Name: "timeout", Value: defaultRequestTimeout, Usage: "bound on each request, including a wait for a leader to be elected"},
	}
}

// resolveToken picks the token: --token, else --token-file, else
// $GLEANER_TOKEN, else the default file if it exists ("" if none).
func resolveToken(flagToken, flagFile, env, defaultFile string) (string, error) {
	switch {
	case flagToken != "":
		return flagToken, nil
	case flagFile != "":
		return readSecret(flagFile, "token-file")
	case env != "":
		return env, nil
	case defaultFile != "":
		if _, err := os.Stat(defaultFile); err != nil {
			return "", nil
		}
		return readSecret(defaultFile, "token-file (default "+defaultFile+")")
	}
	return "", nil
}

// newAPIHTTPClient bounds the wait for response headers (streams then run
// as long as they flow) and keeps the token on a standby's redirect to
// the leader (Go drops it when the host changes; the standby that
// redirected has already checked it).
func newAPIHTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = timeout
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		if a := via[0].Header.Get("Authorization"); a != "" {
			req.Header.Set("Authorization", a)
		}
		return nil
	}}
}

// leaderPoll is how often a request that found no leader is tried again.
const leaderPoll = 250 * time.Millisecond

// roundTrip sends a request and reads the answer (at most 64 MiB). While
// the API answers 503 "no leader is elected" it tries again, until ctx
// ends: a scheduler that just started has not won its election yet.
func roundTrip(ctx context.Context, hc *http.Client, method, url, token, contentType string, body []byte) (int, []byte, error) {
	for {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, rd)
		if err != nil {
			return 0, nil, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != nil && contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return resp.StatusCode, nil, fmt.Errorf("read answer: %w", err)
		}
		var e api.Error
		if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(b, &e) != nil || e.Code != api.CodeNoLeader {
			return resp.StatusCode, b, nil
		}
		select {
		case <-ctx.Done():
			return resp.StatusCode, b, nil
		case <-time.After(leaderPoll):
		}
	}
}
