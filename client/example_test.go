package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gleaner-project/gleaner/client"
	"github.com/gleaner-project/gleaner/scheduler/job"
)

// exampleAPI stands in for a scheduler: a job "etl-1" that has succeeded.
func exampleAPI() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":"etl-1"}`)
	})
	mux.HandleFunc("GET /v1/jobs/etl-1/watch", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"id":"etl-1","state":"running","tasks":[{"name":"extract","state":"running","instances":2,"counts":{"running":2}}]}`)
		fmt.Fprintln(w, `{"id":"etl-1","state":"succeeded","tasks":[{"name":"extract","state":"succeeded","instances":2,"counts":{"succeeded":2}}]}`)
	})
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":"job %s not found","field":"id"}`, r.PathValue("id"))
	})
	return httptest.NewServer(mux)
}

func Example() {
	srv := exampleAPI()
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithToken("glt_..."))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	sub, err := c.Submit(ctx, []byte("name: etl\ntasks: [{name: extract, command: 'echo $GLEANER_INDEX', instances: 2}]"))
	if err != nil {
		panic(err)
	}
	final, err := c.Watch(ctx, sub.ID, func(st job.Status) { fmt.Println(st.ID, st.State) })
	if err != nil {
		panic(err)
	}
	fmt.Println("final:", final.State)
	// Output:
	// etl-1 running
	// etl-1 succeeded
	// final: succeeded
}

func ExampleAPIError() {
	srv := exampleAPI()
	defer srv.Close()
	c, _ := client.New(srv.URL, client.WithToken("glt_..."))
	_, err := c.Get(context.Background(), "nope-1")
	var ae *client.APIError
	if errors.As(err, &ae) {
		fmt.Println(ae.Status, ae.Field, errors.Is(err, client.ErrNotFound))
	}
	fmt.Println(err)
	// Output:
	// 404 id true
	// job nope-1 not found (field id)
}
