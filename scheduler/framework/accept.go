package framework

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// fastPath sends ACCEPT calls concurrently. mesos-go's scheduler client
// runs every call one at a time; an offer cycle of 100 agents would queue
// 100 ACCEPTs behind each other. fastPath reuses the subscription's
// endpoint and Mesos-Stream-Id (captured from the SUBSCRIBE response) on a
// pooled HTTP client. Like mesos-go, any answer but 202 drops the
// subscription, which is then re-established.
type fastPath struct {
	mu       sync.Mutex
	endpoint string
	streamID string
	hc       *http.Client
}

func newFastPath() *fastPath {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &fastPath{hc: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// capture wraps mesos-go's HTTP doer to learn the stream of a SUBSCRIBE.
func (p *fastPath) capture(do httpcli.DoFunc) httpcli.DoFunc {
	return func(req *http.Request) (*http.Response, error) {
		resp, err := do(req)
		if err == nil && resp.StatusCode == http.StatusOK {
			if id := resp.Header.Get("Mesos-Stream-Id"); id != "" {
				p.mu.Lock()
				p.endpoint, p.streamID = req.URL.String(), id
				p.mu.Unlock()
			}
		}
		return resp, err
	}
}

func (p *fastPath) reset() {
	p.mu.Lock()
	p.endpoint, p.streamID = "", ""
	p.mu.Unlock()
}

func (p *fastPath) get() (string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endpoint, p.streamID
}

// callConcurrent sends a no-data call on the fast path when a stream is
// known, else through mesos-go.
func (f *Framework) callConcurrent(ctx context.Context, call *scheduler.Call) error {
	endpoint, sid := f.fast.get()
	if sid == "" {
		return calls.CallNoData(ctx, f.caller, call)
	}
	call.FrameworkID = &mesos.FrameworkID{Value: f.FrameworkID()}
	body, err := call.Marshal()
	if err != nil {
		return fmt.Errorf("marshal %s: %w", call.GetType(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Accept", "application/x-protobuf")
	req.Header.Set("Mesos-Stream-Id", sid)
	if f.cfg.Principal != "" {
		req.SetBasicAuth(f.cfg.Principal, f.cfg.Secret)
	}
	resp, err := f.fast.hc.Do(req)
	if err != nil {
		f.dropSubscription(sid)
		return fmt.Errorf("%s: %w", call.GetType(), err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		f.dropSubscription(sid)
		return fmt.Errorf("%s: %s: %s", call.GetType(), resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// dropSubscription ends the subscription that used stream sid (if it is
// still the current one) so the controller subscribes again.
func (f *Framework) dropSubscription(sid string) {
	if _, cur := f.fast.get(); cur != sid {
		return
	}
	f.fast.reset()
	f.mu.Lock()
	if f.cancelSub != nil {
		f.cancelSub()
		f.cancelSub = nil
	}
	f.mu.Unlock()
}
