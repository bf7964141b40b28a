package localmesos

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/gleaner-project/gleaner/test/localmesos/mesostest"
)

var (
	protobufCodec = codecs.ByMediaType[codecs.MediaTypeProtobuf]
	jsonCodec     = codecs.ByMediaType[codecs.MediaTypeJSON]
)

// codecsUnderTest runs a test once per codec.
func forEachCodec(t *testing.T, f func(t *testing.T, codec encoding.Codec)) {
	for _, c := range []encoding.Codec{protobufCodec, jsonCodec} {
		c := c
		t.Run(c.Type.ContentType(), func(t *testing.T) { f(t, c) })
	}
}

// startCluster starts a cluster of fake agents for one test of the master,
// with fast allocation. Fake agents run tasks by their command: "exit 0"
// finishes, "exit N" fails, anything else runs until killed.
func startCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	cfg.fakeAgents = true
	return startRealCluster(t, cfg)
}

// startRealCluster starts a cluster of real local agents.
func startRealCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.AllocationInterval == 0 {
		cfg.AllocationInterval = 50 * time.Millisecond
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = t.TempDir()
	}
	c, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// fw is the recording framework of mesostest with this package's default
// wait of 15 s.
type fw struct{ *mesostest.Framework }

type fwOpt func(*mesostest.Config)

func noAutoAck() fwOpt { return func(c *mesostest.Config) { c.NoAck = true } }

// startFramework subscribes a framework like a real one would.
func startFramework(t testing.TB, c *Cluster, codec encoding.Codec, info mesos.FrameworkInfo, opts ...fwOpt) *fw {
	t.Helper()
	if info.User == "" {
		info.User = "tester"
	}
	if info.Name == "" {
		info.Name = "conformance"
	}
	cfg := mesostest.Config{MasterURL: c.MasterURL(), Codec: codec, Info: info}
	for _, o := range opts {
		o(&cfg)
	}
	return &fw{mesostest.Start(t, cfg)}
}

// await waits up to 15 s for an event matching pred, scanning from index
// *from, and returns it; *from moves past it.
func (f *fw) await(from *int, what string, pred func(*scheduler.Event) bool) *scheduler.Event {
	f.TB().Helper()
	return f.Await(from, what, 15*time.Second, pred)
}

// awaitOffers waits for an OFFERS event and returns its offers.
func (f *fw) awaitOffers(from *int) []mesos.Offer {
	f.TB().Helper()
	return f.await(from, "OFFERS", mesostest.IsType(scheduler.Event_OFFERS)).Offers.Offers
}

// commandTask builds a command task using the given resources of an offer.
func commandTask(id string, o mesos.Offer, cmd string, cpus, mem float64) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
		Command:   &mesos.CommandInfo{Value: &cmd},
		Resources: mesostest.ResourcesLike(o, cpus, mem),
	}
}

// rawPost sends a body to a master path and returns status and body.
func rawPost(t testing.TB, url, contentType, accept, streamID string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), resp.Header
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
