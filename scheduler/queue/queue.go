package queue

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Environment variables the scheduler sets in a queue worker's task.
const (
	// EnvToken carries the instance's bearer token.
	EnvToken = "GLEANER_QUEUE_TOKEN"
	// EnvURL is the queue's base URL: <api>/v1/jobs/<id>/queue.
	EnvURL = "GLEANER_QUEUE_URL"
)

// Defaults and limits.
const (
	DefaultPrefix = "/gleaner/queues/"
	// DefaultTTL is how long a claim survives without a sign of life from
	// its instance (a Next, Done or Heartbeat call, or the scheduler's
	// Touch while the instance runs).
	DefaultTTL = 60 * time.Second
	// MaxItemBytes bounds one item.
	MaxItemBytes = 64 << 10
	// opsPerTxn keeps transactions under etcd's default limit of 128.
	opsPerTxn = 100
	// bytesPerTxn keeps requests under etcd's default 1.5 MiB.
	bytesPerTxn = 1 << 20
	// scanPage is how many item keys one scan step reads.
	scanPage = 256
)

// Errors.
var (
	// ErrUnknownToken: the token was never registered or was released.
	ErrUnknownToken = errors.New("unknown queue token")
	// ErrWrongJob: the token belongs to another job.
	ErrWrongJob = errors.New("queue token belongs to another job")
	// ErrNotHolder: Done for an item this token does not hold (its claim
	// expired and the item went to another worker, or it was never
	// handed to it).
	ErrNotHolder = errors.New("item not held by this token")
	// ErrTooLarge: an item exceeds MaxItemBytes.
	ErrTooLarge = errors.New("queue item too large")
)

// Status says what Next found.
type Status int

// Next statuses.
const (
	// Handed: an item was handed out.
	Handed Status = iota
	// Empty: no item remains; every item is done. Workers exit.
	Empty
	// Busy: items remain but all are held by live workers; ask again later
	// (one may come back if its worker dies).
	Busy
)

func (s Status) String() string {
	return [...]string{"handed", "empty", "busy"}[s]
}

// Item is one work item.
type Item struct {
	ID   string `json:"id"`
	Data string `json:"data"`
}

// Stats count a queue's items.
type Stats struct {
	Remaining int64 `json:"remaining"` // not done
	Claimed   int64 `json:"claimed"`   // held by a worker now
}

// Queue is the etcd-backed queue of every job, under one prefix.
type Queue struct {
	cli    *clientv3.Client
	prefix string
	ttl    time.Duration

	mu     sync.Mutex
	secret []byte // HMAC key of tokens, loaded once
}

// New returns a queue store under prefix (DefaultPrefix when empty) whose
// claims live ttl (DefaultTTL when 0; etcd rounds leases up to a few
// seconds at least).
func New(cli *clientv3.Client, prefix string, ttl time.Duration) *Queue {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Queue{cli: cli, prefix: prefix, ttl: ttl}
}

// TTL is the claim lifetime.
func (q *Queue) TTL() time.Duration { return q.ttl }

func (q *Queue) jobPrefix(job string) string   { return q.prefix + "jobs/" + job + "/" }
func (q *Queue) itemsPrefix(job string) string { return q.jobPrefix(job) + "items/" }
func (q *Queue) claimPrefix(job string) string { return q.jobPrefix(job) + "claims/" }
func (q *Queue) metaKey(job string) string     { return q.jobPrefix(job) + "meta" }
func (q *Queue) tokenKey(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return q.prefix + "tokens/" + hex.EncodeToString(h[:])
}

// itemID is fixed-width so keys sort in order.
func itemID(n int64) string { return fmt.Sprintf("%012d", n) }

type meta struct {
	Next int64 `json:"next"` // id of the next item added
}

// tokenRecord is stored under tokens/<sha256(token)>.
type tokenRecord struct {
	Job      string `json:"job"`
	Instance string `json:"instance"`
	Lease    int64  `json:"lease"`
}

// Add appends items to job's queue (created if absent) and returns the id
// of the first. Items are written in transactions of at most 100; the
// range of ids is reserved first, so concurrent Adds never collide. If Add
// fails part way, the items written are in the queue; retrying adds the
// rest again under new ids (the scheduler adds a job's items at submit,
// before the job is stored, and retries the whole submit).
func (q *Queue) Add(ctx context.Context, job string, items []string) (string, error) {
	for i, it := range items {
		if len(it) > MaxItemBytes {
			return "", fmt.Errorf("add item %d to queue of %s: %w (%d > %d bytes)", i, job, ErrTooLarge, len(it), MaxItemBytes)
		}
	}
	first, err := q.reserve(ctx, job, int64(len(items)))
	if err != nil {
		return "", err
	}
	var ops []clientv3.Op
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := q.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("add items to queue of %s: %w", job, err)
		}
		ops, size = ops[:0], 0
		return nil
	}
	for i, it := range items {
		if len(ops) == opsPerTxn || size+len(it) > bytesPerTxn {
			if err := flush(); err != nil {
				return "", err
			}
		}
		ops = append(ops, clientv3.OpPut(q.itemsPrefix(job)+itemID(first+int64(i)), it))
		size += len(it) + 64
	}
	if err := flush(); err != nil {
		return "", err
	}
	return itemID(first), nil
}

func (q *Queue) reserve(ctx context.Context, job string, n int64) (int64, error) {
	key := q.metaKey(job)
	for {
		resp, err := q.cli.Get(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("reserve ids in queue of %s: %w", job, err)
		}
		var m meta
		var rev int64
		if len(resp.Kvs) == 1 {
			if err := json.Unmarshal(resp.Kvs[0].Value, &m); err != nil {
				return 0, fmt.Errorf("read queue meta of %s: %w", job, err)
			}
			rev = resp.Kvs[0].ModRevision
		}
		next := m
		next.Next += n
		b, _ := json.Marshal(next)
		tr, err := q.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, string(b))).Commit()
		if err != nil {
			return 0, fmt.Errorf("reserve ids in queue of %s: %w", job, err)
		}
		if tr.Succeeded {
			return m.Next, nil
		}
	}
}

// Register returns the token of an instance (e.g. its task id) of job,
// creating its record with a fresh lease the first time. The token is an
// HMAC of job and instance under a secret kept in etcd, so any leader
// computes the same token again (Register is idempotent: a new leader that
// relaunches a task after failover puts the same token in its env). The
// scheduler puts it in the task's environment (EnvToken) and calls
// ReleaseInstance when the instance ends.
func (q *Queue) Register(ctx context.Context, job, instance string) (string, error) {
	return q.RegisterIf(ctx, job, instance, nil)
}

// ErrFenced: a write's fence (the leader's key) no longer holds.
var ErrFenced = errors.New("fence failed: no longer the leader")

// RegisterIf is Register with the record written only while fence holds
// (the leader's key, as store.Etcd.Fenced): a scheduler that lost its
// leadership registers nothing (ErrFenced).
func (q *Queue) RegisterIf(ctx context.Context, job, instance string, fence []clientv3.Cmp) (string, error) {
	tok, err := q.token(ctx, job, instance)
	if err != nil {
		return "", err
	}
	key := q.tokenKey(tok)
	lease, err := q.cli.Grant(ctx, int64((q.ttl+time.Second-1)/time.Second))
	if err != nil {
		return "", fmt.Errorf("grant queue lease for %s: %w", instance, err)
	}
	b, _ := json.Marshal(tokenRecord{Job: job, Instance: instance, Lease: int64(lease.ID)})
	create := clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)},
		[]clientv3.Op{clientv3.OpPut(key, string(b))}, nil)
	tr, err := q.cli.Txn(ctx).If(fence...).Then(create).Commit()
	if err != nil {
		return "", fmt.Errorf("register queue token for %s: %w", instance, err)
	}
	if !tr.Succeeded {
		_, _ = q.cli.Revoke(ctx, lease.ID)
		return "", fmt.Errorf("register queue token for %s: %w", instance, ErrFenced)
	}
	if !tr.Responses[0].GetResponseTxn().Succeeded {
		_, _ = q.cli.Revoke(ctx, lease.ID) // registered before: keep its lease
	}
	return tok, nil
}

// Token computes the token of an instance of job without registering it.
func (q *Queue) Token(ctx context.Context, job, instance string) (string, error) {
	return q.token(ctx, job, instance)
}

func (q *Queue) token(ctx context.Context, job, instance string) (string, error) {
	secret, err := q.loadSecret(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(job + "\x00" + instance))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// loadSecret reads the HMAC secret, creating it once (create-if-absent, so
// concurrent schedulers agree on one).
func (q *Queue) loadSecret(ctx context.Context) ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.secret != nil {
		return q.secret, nil
	}
	key := q.prefix + "secret"
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("queue secret: %w", err)
	}
	tr, err := q.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, hex.EncodeToString(fresh))).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return nil, fmt.Errorf("queue secret: %w", err)
	}
	if tr.Succeeded {
		q.secret = fresh
		return fresh, nil
	}
	kvs := tr.Responses[0].GetResponseRange().Kvs
	if len(kvs) != 1 {
		return nil, errors.New("queue secret: vanished")
	}
	sec, err := hex.DecodeString(string(kvs[0].Value))
	if err != nil {
		return nil, fmt.Errorf("queue secret: %w", err)
	}
	q.secret = sec
	return sec, nil
}

// ReleaseInstance releases the token of an instance of job (see Release).
func (q *Queue) ReleaseInstance(ctx context.Context, job, instance string) error {
	tok, err := q.token(ctx, job, instance)
	if err != nil {
		return err
	}
	return q.Release(ctx, tok)
}

// resolve checks tok against job and keeps its lease alive (granting a new
// one when it expired: the old claims are gone, and so is the worker's
// right to finish them).
func (q *Queue) resolve(ctx context.Context, job, tok string) (tokenRecord, error) {
	key := q.tokenKey(tok)
	for {
		resp, err := q.cli.Get(ctx, key)
		if err != nil {
			return tokenRecord{}, fmt.Errorf("read queue token: %w", err)
		}
		if len(resp.Kvs) == 0 {
			return tokenRecord{}, ErrUnknownToken
		}
		var rec tokenRecord
		if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
			return tokenRecord{}, fmt.Errorf("read queue token: %w", err)
		}
		if rec.Job != job {
			return tokenRecord{}, ErrWrongJob
		}
		_, err = q.cli.KeepAliveOnce(ctx, clientv3.LeaseID(rec.Lease))
		if err == nil {
			return rec, nil
		}
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return tokenRecord{}, fmt.Errorf("keep queue lease of %s alive: %w", rec.Instance, err)
		}
		lease, err := q.cli.Grant(ctx, int64((q.ttl+time.Second-1)/time.Second))
		if err != nil {
			return tokenRecord{}, fmt.Errorf("grant queue lease for %s: %w", rec.Instance, err)
		}
		rec.Lease = int64(lease.ID)
		b, _ := json.Marshal(rec)
		tr, err := q.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)).
			Then(clientv3.OpPut(key, string(b))).Commit()
		if err != nil {
			return tokenRecord{}, fmt.Errorf("renew queue lease of %s: %w", rec.Instance, err)
		}
		if tr.Succeeded {
			return rec, nil
		}
		// Someone renewed it first; drop ours and read theirs.
		_, _ = q.cli.Revoke(ctx, lease.ID)
	}
}

// Touch keeps tok's claims alive (the scheduler may call it for every
// running instance, so long items need no heartbeat from the worker).
func (q *Queue) Touch(ctx context.Context, job, tok string) error {
	_, err := q.resolve(ctx, job, tok)
	return err
}

// Release ends tok: its lease is revoked, so the items it held are handed
// out again at once. Call it when the instance ends, however it ended.
// Releasing an unknown token is not an error.
func (q *Queue) Release(ctx context.Context, tok string) error {
	key := q.tokenKey(tok)
	resp, err := q.cli.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("release queue token: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	var rec tokenRecord
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return fmt.Errorf("release queue token: %w", err)
	}
	if _, err := q.cli.Revoke(ctx, clientv3.LeaseID(rec.Lease)); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("revoke queue lease of %s: %w", rec.Instance, err)
	}
	if _, err := q.cli.Delete(ctx, key); err != nil {
		return fmt.Errorf("release queue token of %s: %w", rec.Instance, err)
	}
	return nil
}

// Next hands one unclaimed item of job's queue to the instance holding
// tok, claimed under the instance's lease.
func (q *Queue) Next(ctx context.Context, job, tok string) (Item, Status, error) {
	rec, err := q.resolve(ctx, job, tok)
	if err != nil {
		return Item{}, 0, err
	}
	ip, cp := q.itemsPrefix(job), q.claimPrefix(job)
	from := ip
	sawItems := false
	for {
		resp, err := q.cli.Get(ctx, from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(ip)),
			clientv3.WithKeysOnly(), clientv3.WithLimit(scanPage), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return Item{}, 0, fmt.Errorf("scan queue of %s: %w", job, err)
		}
		if len(resp.Kvs) == 0 {
			break
		}
		sawItems = true
		firstID := strings.TrimPrefix(string(resp.Kvs[0].Key), ip)
		lastID := strings.TrimPrefix(string(resp.Kvs[len(resp.Kvs)-1].Key), ip)
		claims, err := q.cli.Get(ctx, cp+firstID, clientv3.WithRange(cp+lastID+"\x00"), clientv3.WithKeysOnly())
		if err != nil {
			return Item{}, 0, fmt.Errorf("scan claims of %s: %w", job, err)
		}
		held := make(map[string]bool, len(claims.Kvs))
		for _, kv := range claims.Kvs {
			held[strings.TrimPrefix(string(kv.Key), cp)] = true
		}
		for _, kv := range resp.Kvs {
			id := strings.TrimPrefix(string(kv.Key), ip)
			if held[id] {
				continue
			}
			item, ok, err := q.claim(ctx, job, id, rec)
			if err != nil {
				return Item{}, 0, err
			}
			if ok {
				return item, Handed, nil
			}
		}
		if !resp.More {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if !sawItems {
		return Item{}, Empty, nil
	}
	return Item{}, Busy, nil
}

// claim takes id if it still exists and nobody holds it.
func (q *Queue) claim(ctx context.Context, job, id string, rec tokenRecord) (Item, bool, error) {
	ik, ck := q.itemsPrefix(job)+id, q.claimPrefix(job)+id
	tr, err := q.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(ik), ">", 0), clientv3.Compare(clientv3.CreateRevision(ck), "=", 0)).
		Then(clientv3.OpPut(ck, rec.Instance, clientv3.WithLease(clientv3.LeaseID(rec.Lease))), clientv3.OpGet(ik)).
		Commit()
	if err != nil {
		return Item{}, false, fmt.Errorf("claim item %s of %s: %w", id, job, err)
	}
	if !tr.Succeeded {
		return Item{}, false, nil
	}
	kvs := tr.Responses[1].GetResponseRange().Kvs
	return Item{ID: id, Data: string(kvs[0].Value)}, true, nil
}

// Done marks item id finished by the instance holding tok: the item and
// its claim are deleted. Done for an item already finished is not an
// error (whoever finished it, the work is done); Done for an item held by
// another instance, or by none, is ErrNotHolder.
func (q *Queue) Done(ctx context.Context, job, tok, id string) error {
	rec, err := q.resolve(ctx, job, tok)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil || len(id) != len(itemID(0)) {
		return fmt.Errorf("done %q in queue of %s: %w", id, job, ErrNotHolder)
	}
	ik, ck := q.itemsPrefix(job)+id, q.claimPrefix(job)+id
	tr, err := q.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(ck), "=", rec.Instance), clientv3.Compare(clientv3.LeaseValue(ck), "=", clientv3.LeaseID(rec.Lease))).
		Then(clientv3.OpDelete(ik), clientv3.OpDelete(ck)).
		Else(clientv3.OpGet(ik, clientv3.WithCountOnly())).
		Commit()
	if err != nil {
		return fmt.Errorf("done %s in queue of %s: %w", id, job, err)
	}
	if tr.Succeeded || tr.Responses[0].GetResponseRange().Count == 0 {
		return nil
	}
	return fmt.Errorf("done %s in queue of %s: %w", id, job, ErrNotHolder)
}

// Empty reports whether every item of job's queue is done.
func (q *Queue) Empty(ctx context.Context, job string) (bool, error) {
	s, err := q.Stats(ctx, job)
	return s.Remaining == 0, err
}

// Stats counts job's remaining and claimed items.
func (q *Queue) Stats(ctx context.Context, job string) (Stats, error) {
	tr, err := q.cli.Txn(ctx).Then(
		clientv3.OpGet(q.itemsPrefix(job), clientv3.WithPrefix(), clientv3.WithCountOnly()),
		clientv3.OpGet(q.claimPrefix(job), clientv3.WithPrefix(), clientv3.WithCountOnly()),
	).Commit()
	if err != nil {
		return Stats{}, fmt.Errorf("count queue of %s: %w", job, err)
	}
	return Stats{Remaining: tr.Responses[0].GetResponseRange().Count, Claimed: tr.Responses[1].GetResponseRange().Count}, nil
}

// Delete removes job's queue (items, claims, meta). Tokens are removed by
// Release.
func (q *Queue) Delete(ctx context.Context, job string) error {
	if _, err := q.cli.Delete(ctx, q.jobPrefix(job), clientv3.WithPrefix()); err != nil {
		return fmt.Errorf("delete queue of %s: %w", job, err)
	}
	return nil
}
