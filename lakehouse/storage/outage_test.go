package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

// TestS3Outages: requests ride out a gateway that is down (killed, then
// restarted) or frozen (SIGSTOP, then SIGCONT) for 10 s, and give up with
// a clear error on one that stays frozen, within the options' bound; the
// default bound is under 2 minutes.
func TestS3Outages(t *testing.T) {
	if b := storage.S3GiveUpBound(storage.S3Options{}); b > 2*time.Minute {
		t.Errorf("default options give up after %v, want at most 2 min", b)
	}
	ctx := context.Background()
	const outage = 10 * time.Second
	// Each case has its own gateway, so they run at once (~15 s in all).
	for _, tc := range []struct {
		name     string
		down, up func(*testenv.Gateway) error
	}{
		{"restarted", func(g *testenv.Gateway) error { g.Stop(); return nil }, (*testenv.Gateway).Restart},
		{"frozen", func(g *testenv.Gateway) error { g.Freeze(); return nil }, func(g *testenv.Gateway) error { g.Thaw(); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gw := testenv.StartGateway(t)
			gw.Bucket(t, "lake", "")
			s, err := storage.NewS3(ctx, gw.Options("lake", tc.name)) // default timeouts and retries
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, "a", []byte("before")); err != nil {
				t.Fatal(err)
			}
			if err := tc.down(gw); err != nil {
				t.Fatal(err)
			}
			upErr := make(chan error, 1)
			time.AfterFunc(outage, func() { upErr <- tc.up(gw) })
			t0 := time.Now()
			err = s.Put(ctx, "b", []byte("during"))
			if uerr := <-upErr; uerr != nil {
				t.Fatal(uerr)
			}
			if err != nil {
				t.Fatalf("put during a %v outage: %v", outage, err)
			}
			b, err := s.Get(ctx, "b")
			if err != nil || string(b) != "during" {
				t.Fatalf("get after the outage: %q, %v", b, err)
			}
			t.Logf("put succeeded after %.1f s", time.Since(t0).Seconds())
		})
	}
	t.Run("stays frozen", func(t *testing.T) {
		t.Parallel()
		gw := testenv.StartGateway(t)
		gw.Bucket(t, "lake", "")
		o := gw.Options("lake", "frozen")
		o.Timeout, o.MaxAttempts, o.MaxBackoff = time.Second, 3, time.Second
		s, err := storage.NewS3(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		gw.Freeze()
		defer gw.Thaw()
		t0 := time.Now()
		_, err = s.Get(ctx, "a")
		took := time.Since(t0)
		if err == nil || !strings.Contains(err.Error(), "storage: s3 get a") || !strings.Contains(err.Error(), "Timeout") {
			t.Errorf("get from a frozen gateway: %v; want a timeout naming the key", err)
		}
		if bound := storage.S3GiveUpBound(o); took > bound+2*time.Second {
			t.Errorf("gave up after %v, bound %v", took, bound)
		}
		t.Logf("gave up after %.1f s: %v", took.Seconds(), err)
	})
	t.Run("missing bucket", func(t *testing.T) {
		t.Parallel()
		gw := testenv.StartGateway(t)
		s, err := storage.NewS3(ctx, gw.Options("nosuchbucket", "t"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.List(ctx, "_delta_log/", "")
		if !errors.Is(err, storage.ErrNoBucket) || !strings.Contains(err.Error(), `bucket "nosuchbucket" does not exist`) {
			t.Errorf("list in a missing bucket: %v", err)
		}
	})
}
