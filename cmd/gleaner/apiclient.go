package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/auth"
)

// Every command that calls the scheduler API takes these flags, and makes
// its calls with the Go SDK (package client).
const defaultRequestTimeout = client.DefaultTimeout

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

// newAPIClient makes the SDK client for an API URL, token flags and a
// request timeout.
func newAPIClient(apiURL, token, tokenFile string, timeout time.Duration) (*client.Client, error) {
	tok, err := resolveToken(token, tokenFile, os.Getenv("GLEANER_TOKEN"), auth.DefaultClientTokenFile())
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("--timeout: want a positive duration, got %v", timeout)
	}
	c, err := client.New(apiURL, client.WithToken(tok), client.WithTimeout(timeout))
	if err != nil {
		return nil, fmt.Errorf("--api: %w", err)
	}
	return c, nil
}

// withHTTPStatus adds the HTTP status to an API error's message.
func withHTTPStatus(err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%w (HTTP %d)", err, ae.Status)
	}
	return err
}
