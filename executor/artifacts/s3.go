package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Store keeps objects in an S3-compatible bucket under a key prefix,
// through the MinIO Go client (Apache-2.0; any S3 API server).
type S3Store struct {
	client *minio.Client
	bucket string
	prefix string // "" or "p/"
}

var _ Store = (*S3Store)(nil)

// NewS3Store returns a store on loc's bucket with static credentials.
func NewS3Store(loc Location, accessKeyID, secretAccessKey, sessionToken string) (*S3Store, error) {
	if accessKeyID == "" || secretAccessKey == "" {
		return nil, errors.New("s3 artifact store: credentials missing (access key id and secret access key)")
	}
	c, err := minio.New(loc.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(accessKeyID, secretAccessKey, sessionToken),
		Secure: !loc.Insecure,
		Region: loc.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 artifact store: %w", err)
	}
	s := &S3Store{client: c, bucket: loc.Bucket}
	if loc.Prefix != "" {
		s.prefix = loc.Prefix + "/"
	}
	return s, nil
}

// Put implements Store.
func (s *S3Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s%s: %w", s.bucket, s.prefix, key, err)
	}
	return nil
}

// Get implements Store.
func (s *S3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	o, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err == nil {
		_, err = o.Stat() // the request is made here: a missing key shows now
	}
	if err != nil {
		if o != nil {
			o.Close()
		}
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, fmt.Errorf("get s3://%s/%s%s: %w", s.bucket, s.prefix, key, ErrNotFound)
		}
		return nil, fmt.Errorf("get s3://%s/%s%s: %w", s.bucket, s.prefix, key, err)
	}
	return o, nil
}

// DeletePrefix implements Store.
func (s *S3Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	objs := make(chan minio.ObjectInfo)
	var listErr error
	go func() {
		defer close(objs)
		for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			objs <- o
		}
	}()
	var rmErr error
	for e := range s.client.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		if rmErr == nil {
			rmErr = e.Err
		}
	}
	if err := errors.Join(listErr, rmErr); err != nil {
		return fmt.Errorf("delete s3://%s/%s%s: %w", s.bucket, s.prefix, prefix, err)
	}
	return nil
}
