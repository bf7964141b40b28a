package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/etcdtest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// A client built with EtcdDialOptions times its requests by method.
func TestEtcdClientMetrics(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(), DialOptions: EtcdDialOptions()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "/metrics-test/k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Get(ctx, "/metrics-test/k"); err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(t, prometheus.DefaultGatherer, "gleaner_etcd_grpc_client_handled_total", "grpc_method", "Put", "grpc_code", "OK"); got < 1 {
		t.Fatalf("Put requests counted %v", got)
	}
	if n := testutil.CollectAndCount(Etcd, "gleaner_etcd_grpc_client_handling_seconds"); n < 2 {
		t.Fatalf("%d latency series, want at least Put and Range", n)
	}
}
