package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

func stores(t *testing.T) map[string]storage.Storage {
	local, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	gw := testenv.StartGateway(t)
	return map[string]storage.Storage{
		"local": local,
		"s3":    gw.Bucket(t, "lake", "tables/t1"),
	}
}

func TestStorage(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if err := s.Put(ctx, "a/b/x.json", []byte("one")); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, "a/b/x.json", []byte("two")); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "a/b/x.json")
			if err != nil || string(got) != "two" {
				t.Fatalf("Get = %q, %v; want two", got, err)
			}
			if err := s.PutIfAbsent(ctx, "a/b/x.json", []byte("three")); !errors.Is(err, storage.ErrExist) {
				t.Fatalf("PutIfAbsent existing = %v, want ErrExist", err)
			}
			if err := s.PutIfAbsent(ctx, "a/c/y.json", []byte("0123456789")); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, "a/b%20c/z.parquet", []byte("z")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "a/missing"); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("Get missing = %v, want ErrNotExist", err)
			}
			if _, err := s.Stat(ctx, "a/missing"); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("Stat missing = %v, want ErrNotExist", err)
			}
			st, err := s.Stat(ctx, "a/c/y.json")
			if err != nil || st.Size != 10 || st.ModTime.IsZero() {
				t.Fatalf("Stat = %+v, %v", st, err)
			}
			r, err := s.Open(ctx, "a/c/y.json")
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if n, err := r.ReadAt(buf, 3); n != 4 || err != nil || string(buf) != "3456" {
				t.Fatalf("ReadAt = %d %v %q", n, err, buf)
			}
			if n, err := r.ReadAt(buf, 8); n != 2 || err != io.EOF {
				t.Fatalf("ReadAt tail = %d %v", n, err)
			}
			r.Close()
			keys := func(prefix, after string) []string {
				l, err := s.List(ctx, prefix, after)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, o := range l {
					out = append(out, o.Key)
				}
				return out
			}
			for _, tc := range []struct {
				prefix, after string
				want          []string
			}{
				{"a/", "", []string{"a/b%20c/z.parquet", "a/b/x.json", "a/c/y.json"}},
				{"a/b/", "", []string{"a/b/x.json"}},
				{"a/", "a/b/x.json", []string{"a/c/y.json"}},
				{"", "", []string{"a/b%20c/z.parquet", "a/b/x.json", "a/c/y.json"}},
				{"nothing/", "", nil},
			} {
				if d := cmp.Diff(tc.want, keys(tc.prefix, tc.after)); d != "" {
					t.Errorf("List(%q,%q) -want +got:\n%s", tc.prefix, tc.after, d)
				}
			}
			if err := s.Delete(ctx, "a/b/x.json"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "a/b/x.json"); err != nil {
				t.Fatalf("second Delete = %v", err)
			}
			if _, err := s.Get(ctx, "a/b/x.json"); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("Get deleted = %v", err)
			}
		})
	}
}

// TestPutIfAbsentRace: of 8 concurrent writers of one key exactly one wins,
// and the stored object is the winner's.
func TestPutIfAbsentRace(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for round := 0; round < 5; round++ {
				key := fmt.Sprintf("_delta_log/%020d.json", round)
				var wg sync.WaitGroup
				results := make([]error, 8)
				for i := range results {
					wg.Add(1)
					go func() {
						defer wg.Done()
						results[i] = s.PutIfAbsent(ctx, key, []byte(fmt.Sprintf("writer %d", i)))
					}()
				}
				wg.Wait()
				winner := -1
				for i, err := range results {
					switch {
					case err == nil && winner >= 0:
						t.Fatalf("round %d: writers %d and %d both won", round, winner, i)
					case err == nil:
						winner = i
					case !errors.Is(err, storage.ErrExist):
						t.Fatalf("round %d writer %d: %v", round, i, err)
					}
				}
				if winner < 0 {
					t.Fatalf("round %d: nobody won", round)
				}
				got, _ := s.Get(ctx, key)
				if want := fmt.Sprintf("writer %d", winner); string(got) != want {
					t.Fatalf("round %d: stored %q, want %q", round, got, want)
				}
			}
		})
	}
}

func TestOpenURI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		uri, want string
		bad       bool
	}{
		{uri: dir, want: dir},
		{uri: "file://" + dir, want: dir},
		{uri: "s3://bucket/some/prefix/", want: "s3://bucket/some/prefix"},
		{uri: "s3://bucket", want: "s3://bucket"},
		{uri: "gs://x/y", bad: true},
		{uri: "s3:///nobucket", bad: true},
	} {
		s, err := storage.Open(ctx, tc.uri, storage.Options{})
		if tc.bad {
			if err == nil {
				t.Errorf("Open(%q) succeeded, want error", tc.uri)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.uri, err)
			continue
		}
		if s.URI() != tc.want {
			t.Errorf("Open(%q).URI() = %q, want %q", tc.uri, s.URI(), tc.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_DEFAULT_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
	got := storage.FromEnv(func(k string) string { return env[k] })
	want := storage.S3Options{Endpoint: "http://127.0.0.1:9", Region: "eu-west-1", AccessKey: "k", SecretKey: "s", PathStyle: true}
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(storage.S3Options{})); d != "" {
		t.Errorf("FromEnv -want +got:\n%s", d)
	}
	for k, v := range map[string]string{"AWS_MAX_ATTEMPTS": "0", "TELCO_S3_TIMEOUT": "soon"} {
		o := storage.FromEnv(func(key string) string {
			if key == k {
				return v
			}
			return env[key]
		})
		o.Bucket = "b"
		if _, err := storage.NewS3(context.Background(), o); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err %v, want one naming the variable", k, v, err)
		}
	}
	env["AWS_MAX_ATTEMPTS"], env["TELCO_S3_TIMEOUT"] = "4", "2.5"
	got = storage.FromEnv(func(k string) string { return env[k] })
	if got.MaxAttempts != 4 || got.Timeout != 2500*time.Millisecond {
		t.Errorf("FromEnv: attempts %d timeout %v, want 4 and 2.5s", got.MaxAttempts, got.Timeout)
	}
}
