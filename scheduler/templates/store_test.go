package templates_test

import (
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/templates"
	"github.com/gleaner-project/gleaner/scheduler/templates/templatetest"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

func TestMemory(t *testing.T) {
	templatetest.Run(t, func(t *testing.T, lim templates.Limits) templates.Store { return templates.NewMemory(lim) })
}

func TestEtcdEmbedded(t *testing.T) {
	srv := etcdtest.Start(t)
	n := 0
	templatetest.Run(t, func(t *testing.T, lim templates.Limits) templates.Store {
		cli, err := srv.Client()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		n++
		return templates.NewEtcd(cli, "/test-"+time.Now().Format("150405.000000")+"-"+string(rune('a'+n))+"/", lim)
	})
}
