package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdTLSFlags are the client TLS flags of every command that talks to
// etcd (scheduler, monitor); see SECURITY.md.
func etcdTLSFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "etcd-cacert", Usage: "CA bundle that verifies the etcd servers' certificates (https:// endpoints)"},
		&cli.StringFlag{Name: "etcd-cert", Usage: "client certificate presented to etcd (with --etcd-key)"},
		&cli.StringFlag{Name: "etcd-key", Usage: "private key of --etcd-cert"},
	}
}

// etcdConfig is the etcd client configuration for endpoints and the TLS
// flags: no TLS when none is given; a certificate needs its key.
func etcdConfig(c *cli.Context, endpoints []string) (clientv3.Config, error) {
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second}
	info := transport.TLSInfo{TrustedCAFile: c.String("etcd-cacert"), CertFile: c.String("etcd-cert"), KeyFile: c.String("etcd-key")}
	if (info.CertFile == "") != (info.KeyFile == "") {
		return cfg, errors.New("--etcd-cert and --etcd-key go together")
	}
	if info.Empty() && info.TrustedCAFile == "" {
		return cfg, nil
	}
	tc, err := info.ClientConfig()
	if err != nil {
		return cfg, fmt.Errorf("etcd TLS: %w", err)
	}
	cfg.TLS = tc
	return cfg, nil
}
