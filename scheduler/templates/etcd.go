package templates

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gleaner-project/gleaner/scheduler/expand"
)

// Etcd is the etcd Store. Layout under the scheduler's prefix:
//
//	templates/<name>/<version, 10 digits>   → Version (JSON)
//
// A push is one transaction that compares the name's keys (or, for a new
// name, every template key) against the revision they were read at, puts
// the new version and deletes the pruned ones: concurrent pushes never
// share a version number and the count bound holds.
type Etcd struct {
	cli    *clientv3.Client
	prefix string // <scheduler prefix>templates/
	lim    Limits
	now    func() time.Time
}

var _ Store = (*Etcd)(nil)

// maxPushAttempts bounds a push's retries when other writers change the
// same keys between its read and its transaction.
const maxPushAttempts = 20

// listBatch is how many latest versions List reads per transaction
// (etcd's default --max-txn-ops is 128).
const listBatch = 100

// NewEtcd returns the store under prefix (the scheduler's --etcd-prefix,
// e.g. /gleaner/) with limits lim.
func NewEtcd(cli *clientv3.Client, prefix string, lim Limits) *Etcd {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Etcd{cli: cli, prefix: prefix + "templates/", lim: lim.withDefaults(), now: time.Now}
}

func (e *Etcd) nameKey(name string) string { return e.prefix + name + "/" }
func (e *Etcd) versionKey(name string, v int) string {
	return fmt.Sprintf("%s%010d", e.nameKey(name), v)
}

// versionOf parses the version from a key under nameKey.
func versionOf(key, namePrefix string) (int, bool) {
	v, err := strconv.Atoi(strings.TrimPrefix(key, namePrefix))
	return v, err == nil && strings.HasPrefix(key, namePrefix)
}

func (e *Etcd) Push(ctx context.Context, name string, t *expand.Template, by string) (*Version, error) {
	np := e.nameKey(name)
	for range maxPushAttempts {
		resp, err := e.cli.Get(ctx, np, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return nil, fmt.Errorf("push template %s: %w", name, err)
		}
		rev := resp.Header.Revision
		var versions []int
		for _, kv := range resp.Kvs {
			if v, ok := versionOf(string(kv.Key), np); ok {
				versions = append(versions, v)
			}
		}
		// The guard: nothing under the name (or, for a new name, under
		// every template) changed since the read.
		guard := clientv3.Compare(clientv3.ModRevision(np), "<", rev+1).WithPrefix()
		if len(versions) == 0 {
			n, err := e.countNames(ctx)
			if err != nil {
				return nil, fmt.Errorf("push template %s: %w", name, err)
			}
			if n >= e.lim.MaxTemplates {
				return nil, fmt.Errorf("push template %s: %w (%d stored)", name, ErrTooMany, n)
			}
			guard = clientv3.Compare(clientv3.ModRevision(e.prefix), "<", rev+1).WithPrefix()
		}
		next := 1
		if len(versions) > 0 {
			next = versions[len(versions)-1] + 1
		}
		v := &Version{Name: name, Version: next, Created: e.now().UTC(), By: by, Template: *t}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("push template %s: %w", name, err)
		}
		ops := []clientv3.Op{clientv3.OpPut(e.versionKey(name, next), string(b))}
		if drop := len(versions) + 1 - e.lim.KeepVersions; drop > 0 {
			for _, old := range versions[:drop] {
				ops = append(ops, clientv3.OpDelete(e.versionKey(name, old)))
			}
		}
		tr, err := e.cli.Txn(ctx).If(guard).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("push template %s: %w", name, err)
		}
		if tr.Succeeded {
			return copyVersion(v), nil
		}
	}
	return nil, fmt.Errorf("push template %s: %w", name, ErrContended)
}

// countNames counts the distinct template names stored.
func (e *Etcd) countNames(ctx context.Context) (int, error) {
	names, err := e.names(ctx)
	return len(names), err
}

// names maps every stored name to its versions, ascending.
func (e *Etcd) names(ctx context.Context) (map[string][]int, error) {
	resp, err := e.cli.Get(ctx, e.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, kv := range resp.Kvs {
		name, ver, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), e.prefix), "/")
		if !ok {
			continue
		}
		if v, err := strconv.Atoi(ver); err == nil {
			out[name] = append(out[name], v)
		}
	}
	for _, vs := range out {
		sort.Ints(vs)
	}
	return out, nil
}

func (e *Etcd) Get(ctx context.Context, name string, version int) (*Version, error) {
	var resp *clientv3.GetResponse
	var err error
	if version == 0 {
		resp, err = e.cli.Get(ctx, e.nameKey(name), clientv3.WithLastKey()...)
	} else {
		resp, err = e.cli.Get(ctx, e.versionKey(name, version))
	}
	if err != nil {
		return nil, fmt.Errorf("get template %s: %w", name, err)
	}
	if len(resp.Kvs) == 0 {
		if version == 0 {
			return nil, fmt.Errorf("template %s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("template %s version %d: %w", name, version, ErrNotFound)
	}
	var v Version
	if err := json.Unmarshal(resp.Kvs[0].Value, &v); err != nil {
		return nil, fmt.Errorf("decode template %s: %w", resp.Kvs[0].Key, err)
	}
	return &v, nil
}

// List reads the keys of every version, then the latest version of each
// name in transactions of listBatch reads: never every stored value.
func (e *Etcd) List(ctx context.Context) ([]Summary, error) {
	names, err := e.names(ctx)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	out := make([]Summary, 0, len(sorted))
	for start := 0; start < len(sorted); start += listBatch {
		batch := sorted[start:min(start+listBatch, len(sorted))]
		ops := make([]clientv3.Op, len(batch))
		for i, n := range batch {
			vs := names[n]
			ops[i] = clientv3.OpGet(e.versionKey(n, vs[len(vs)-1]))
		}
		tr, err := e.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
		for i, r := range tr.Responses {
			kvs := r.GetResponseRange().Kvs
			if len(kvs) == 0 {
				continue // deleted between the two reads
			}
			var v Version
			if err := json.Unmarshal(kvs[0].Value, &v); err != nil {
				return nil, fmt.Errorf("decode template %s: %w", kvs[0].Key, err)
			}
			s := Summary{Name: batch[i], Latest: v.Version, Versions: names[batch[i]], Updated: v.Created, Parameters: v.Template.Parameters}
			out = append(out, s)
		}
	}
	return out, nil
}

func (e *Etcd) Delete(ctx context.Context, name string) error {
	resp, err := e.cli.Delete(ctx, e.nameKey(name), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("delete template %s: %w", name, err)
	}
	if resp.Deleted == 0 {
		return fmt.Errorf("template %s: %w", name, ErrNotFound)
	}
	return nil
}
