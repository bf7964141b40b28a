package metrics

import (
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"google.golang.org/grpc"
)

// Etcd holds the etcd client's request metrics,
// gleaner_etcd_grpc_client_handled_total and
// gleaner_etcd_grpc_client_handling_seconds (labels grpc_service,
// grpc_method, grpc_type and, on the counter, grpc_code), filled by the
// interceptor EtcdDialOptions installs.
var Etcd = grpcprom.NewClientMetrics(
	grpcprom.WithClientCounterOptions(grpcprom.WithNamespace("gleaner"), grpcprom.WithSubsystem("etcd")),
	grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramNamespace("gleaner"), grpcprom.WithHistogramSubsystem("etcd"),
		grpcprom.WithHistogramBuckets([]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
)

// EtcdDialOptions are the dial options to add to an etcd client's
// configuration (clientv3.Config.DialOptions) to measure its unary requests
// (KV, transactions, leases). Watches and lease keep-alives are streams
// that live as long as the client and are not timed.
func EtcdDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(Etcd.UnaryClientInterceptor())}
}
