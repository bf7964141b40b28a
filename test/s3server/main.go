// Command s3server serves the S3 API from a bolt file (gofakes3, MIT) for
// the artifact store's tests: a real HTTP server in a process of its own,
// not a mock. It accepts any credentials; it is for tests only.
//
//	s3server --listen 127.0.0.1:0 --db /tmp/s3.db --bucket artifacts
//
// It prints "listening on HOST:PORT" on stdout once it serves.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	db := flag.String("db", "", "bolt file holding the buckets (required)")
	bucket := flag.String("bucket", "", "bucket to create at start, if missing")
	flag.Parse()
	if err := run(*listen, *db, *bucket); err != nil {
		log.Fatal(err)
	}
}

func run(listen, db, bucket string) error {
	if db == "" {
		return errors.New("--db is required")
	}
	be, err := s3bolt.NewFile(db)
	if err != nil {
		return fmt.Errorf("open %s: %w", db, err)
	}
	if bucket != "" {
		if ok, err := be.BucketExists(bucket); err != nil {
			return err
		} else if !ok {
			if err := be.CreateBucket(bucket); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucket, err)
			}
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: gofakes3.New(be).Server(), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}
