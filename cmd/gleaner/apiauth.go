package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/scheduler/auth"
)

// apiAuthFlags are the scheduler's flags for authenticating API calls.
func apiAuthFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "token-file", Usage: "file holding an admin bearer token for the API (named \"token-file\" in audit records); without it the tokens in etcd are used, created at first start"},
		&cli.StringFlag{Name: "state-dir", Usage: "directory where a first start writes the tokens it creates (admin.token, read-only.token; 0600) (default /var/lib/gleaner, else the user's config directory)"},
		&cli.BoolFlag{Name: "insecure-no-auth", Usage: "serve the API without authentication: anyone who reaches it can run commands on every agent (tests only)"},
	}
}

// apiAuth is how the scheduler authenticates API calls.
type apiAuth struct {
	// Insecure: --insecure-no-auth.
	Insecure bool
	// Token is --token-file's token ("" when not given).
	Token string
	// StateDir receives the tokens a first start creates.
	StateDir string
}

func apiAuthConfig(c *cli.Context) (apiAuth, error) {
	a := apiAuth{Insecure: c.Bool("insecure-no-auth"), StateDir: c.String("state-dir")}
	tok, err := readSecret(c.String("token-file"), "token-file")
	if err != nil {
		return a, err
	}
	a.Token = tok
	if a.Insecure && a.Token != "" {
		return a, errors.New("--insecure-no-auth turns authentication off; it cannot go with --token-file")
	}
	return a, nil
}

// guard makes the API's guard: the tokens stored in etcd (an admin and a
// read-only one are created at first start unless --token-file gives
// one) plus --token-file's, kept current by a watch until ctx ends.
func (a apiAuth) guard(ctx context.Context, cli *clientv3.Client, prefix string, log *slog.Logger) (auth.Guard, error) {
	if a.Insecure {
		log.Warn("API AUTHENTICATION IS OFF (--insecure-no-auth): anyone who can reach the API can run commands on every agent")
		return auth.Guard{Insecure: true}, nil
	}
	st := auth.NewStore(cli, prefix)
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var static []auth.Entry
	var b auth.Bootstrapped
	var err error
	if a.Token != "" {
		static = append(static, auth.EntryFor("token-file", auth.Admin, a.Token))
		b.Entries, b.Revision, err = st.List(bctx)
	} else {
		if a.StateDir == "" {
			a.StateDir = auth.DefaultStateDir()
		}
		b, err = st.Bootstrap(bctx, a.StateDir)
	}
	if err != nil {
		return auth.Guard{}, fmt.Errorf("API tokens: %w", err)
	}
	switch {
	case b.Created:
		log.Info("created API tokens (only their hashes are in etcd); give one to the CLI with --token-file, GLEANER_TOKEN or "+auth.DefaultClientTokenFile(),
			"admin", b.Files["admin"], "read-only", b.Files["read-only"])
	case a.Token == "":
		// The secrets are in the state directory of the scheduler that
		// created them, which may be another host.
		log.Info("API tokens from etcd", "tokens", len(b.Entries), "state-dir", a.StateDir)
	}
	k := auth.NewKeyring(append(static, b.Entries...)...)
	go st.Watch(ctx, b.Revision, func(es []auth.Entry) { k.Replace(append(static, es...)) }, log)
	return auth.Guard{Keyring: k}, nil
}

// readTokenFile reads a token file written by auth.WriteTokenFile.
func readTokenFile(path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	return readSecret(path, "token-file")
}
