package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Options configures an S3 store. Nothing is read from the environment;
// see FromEnv for the caller's side.
type S3Options struct {
	Bucket string
	Prefix string // key prefix under the bucket, no leading or trailing slash

	Region       string // default "us-east-1"
	Endpoint     string // e.g. "http://127.0.0.1:7070"; empty means AWS
	PathStyle    bool   // bucket in the path, for S3-compatible stores
	AccessKey    string // empty: anonymous requests
	SecretKey    string
	SessionToken string
	HTTPClient   *http.Client

	// Timeout bounds each attempt of a request, body included (default
	// DefaultS3Timeout): a stalled server fails the attempt instead of
	// hanging. Raise it for slow links and large data files.
	Timeout time.Duration
	// MaxAttempts is how often a request is sent at most (default
	// DefaultS3MaxAttempts); between attempts the client waits 1 s, 2 s,
	// 4 s, ... up to MaxBackoff (default DefaultS3MaxBackoff).
	MaxAttempts int
	MaxBackoff  time.Duration

	envErr error // a malformed variable seen by FromEnv
}

// Defaults of S3Options: a restarted or briefly unreachable server (up to
// about 15 s) is ridden out, and a stalled one gives up within
// S3GiveUpBound (6 × 15 s + 1+2+4+8+8 s = 113 s).
const (
	DefaultS3Timeout     = 15 * time.Second
	DefaultS3MaxAttempts = 6
	DefaultS3MaxBackoff  = 8 * time.Second
)

// S3GiveUpBound returns the longest a request can take with options o
// before it fails: every attempt timing out, plus the waits between them.
func S3GiveUpBound(o S3Options) time.Duration {
	o = o.withDefaults()
	total := time.Duration(o.MaxAttempts) * o.Timeout
	for a := 1; a < o.MaxAttempts; a++ {
		total += backoff(a, o.MaxBackoff)
	}
	return total
}

func (o S3Options) withDefaults() S3Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultS3Timeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultS3MaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultS3MaxBackoff
	}
	return o
}

// backoff is the wait before retry attempt (1-based): 1 s doubling up to
// max. No random jitter: the waits must add up to ride out an outage of a
// known length (a fleet of workers is spread by its own timing).
func backoff(attempt int, max time.Duration) time.Duration {
	d := time.Second << min(attempt-1, 20)
	return min(d, max)
}

type backoffFunc func(attempt int, err error) (time.Duration, error)

func (f backoffFunc) BackoffDelay(attempt int, err error) (time.Duration, error) {
	return f(attempt, err)
}

// FromEnv fills S3Options from the usual AWS variables, looked up with
// getenv (pass os.Getenv): AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL,
// AWS_REGION or AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_MAX_ATTEMPTS, and ours:
// TELCO_S3_TIMEOUT (seconds per attempt). Path-style addressing is used
// when AWS_S3_FORCE_PATH_STYLE=true, or when a custom endpoint is set and
// AWS_VIRTUAL_HOSTED_STYLE_REQUEST is not "true" (object_store's rule, so
// delta-rs and we address a store alike).
func FromEnv(getenv func(string) string) S3Options {
	o := S3Options{
		Endpoint:     first(getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL")),
		Region:       first(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")),
		AccessKey:    getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: getenv("AWS_SESSION_TOKEN"),
	}
	o.PathStyle = strings.EqualFold(getenv("AWS_S3_FORCE_PATH_STYLE"), "true") ||
		(o.Endpoint != "" && !strings.EqualFold(getenv("AWS_VIRTUAL_HOSTED_STYLE_REQUEST"), "true"))
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			o.envErr = fmt.Errorf("storage: AWS_MAX_ATTEMPTS=%q: want a count >= 1", v)
		}
		o.MaxAttempts = n
	}
	if v := getenv("TELCO_S3_TIMEOUT"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs <= 0 {
			o.envErr = fmt.Errorf("storage: TELCO_S3_TIMEOUT=%q: want positive seconds", v)
		}
		o.Timeout = time.Duration(secs * float64(time.Second))
	}
	return o
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// S3 is a Storage on an S3 bucket and key prefix.
type S3 struct {
	opts   S3Options
	client *s3.Client
	bucket string
	prefix string
}

// NewS3 returns an S3 store. It does not contact the service.
func NewS3(_ context.Context, o S3Options) (*S3, error) {
	if o.Bucket == "" {
		return nil, errors.New("storage: s3: bucket is required")
	}
	if o.envErr != nil {
		return nil, o.envErr
	}
	o = o.withDefaults()
	region := o.Region
	if region == "" {
		region = "us-east-1"
	}
	cfg := aws.Config{Region: region}
	if o.AccessKey != "" {
		creds := aws.Credentials{AccessKeyID: o.AccessKey, SecretAccessKey: o.SecretKey, SessionToken: o.SessionToken, Source: "storage.S3Options"}
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	} else {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	hc.Timeout = o.Timeout
	cfg.HTTPClient = hc
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = o.MaxAttempts
			so.MaxBackoff = o.MaxBackoff
			so.Backoff = backoffFunc(func(attempt int, _ error) (time.Duration, error) { return backoff(attempt, o.MaxBackoff), nil })
			// No client-wide retry budget: every request gets its attempts.
			so.RateLimiter = ratelimit.None
		})
	}
	// Checksums only when required: many S3-compatible stores reject the
	// streaming CRC trailers the SDK sends by default.
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
	})
	return &S3{opts: o, client: client, bucket: o.Bucket, prefix: strings.Trim(o.Prefix, "/")}, nil
}

// URI implements Storage.
func (s *S3) URI() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.prefix
}

func (s *S3) key(k string) string { return Join(s.prefix, k) }

func statusOf(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func (s *S3) wrap(op, key string, err error) error {
	var api smithy.APIError
	code := ""
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("storage: s3 %s %s: bucket %q does not exist: %w", op, key, s.bucket, ErrNoBucket)
	case statusOf(err) == http.StatusNotFound || code == "NoSuchKey" || code == "NotFound":
		return fmt.Errorf("storage: s3 %s %s: %w", op, key, ErrNotExist)
	case statusOf(err) == http.StatusPreconditionFailed || code == "PreconditionFailed":
		return fmt.Errorf("storage: s3 %s %s: %w", op, key, ErrExist)
	}
	return fmt.Errorf("storage: s3 %s %s: %w", op, key, err)
}

// Get implements Storage.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	err := s.bodyRetry(ctx, "get", key, func() error {
		out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
		if err != nil {
			return &apiErr{err}
		}
		defer out.Body.Close()
		b, err = io.ReadAll(out.Body)
		return err
	})
	return b, err
}

// apiErr marks an error the SDK returned after its own retries.
type apiErr struct{ err error }

func (e *apiErr) Error() string { return e.err.Error() }
func (e *apiErr) Unwrap() error { return e.err }

// bodyRetry runs a GET and the read of its body; a body read that fails
// (the server stalled or dropped the connection after answering, which
// the SDK's retries do not cover) is retried like a failed request.
func (s *S3) bodyRetry(ctx context.Context, op, key string, get func() error) error {
	for attempt := 1; ; attempt++ {
		err := get()
		var ae *apiErr
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ae):
			return s.wrap(op, key, ae.err)
		case attempt >= s.opts.MaxAttempts || ctx.Err() != nil:
			return fmt.Errorf("storage: s3 %s %s: reading the body failed %d times: %w", op, key, attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("storage: s3 %s %s: %w", op, key, ctx.Err())
		case <-time.After(backoff(attempt, s.opts.MaxBackoff)):
		}
	}
}

type s3Reader struct {
	ctx  context.Context
	s    *S3
	key  string
	size int64
}

func (r *s3Reader) Size() int64  { return r.size }
func (r *s3Reader) Close() error { return nil }

func (r *s3Reader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	end := off + int64(len(p)) - 1
	short := false
	if end >= r.size {
		end, short = r.size-1, true
	}
	var n int
	err := r.s.bodyRetry(r.ctx, "get", r.key, func() error {
		out, err := r.s.client.GetObject(r.ctx, &s3.GetObjectInput{
			Bucket: &r.s.bucket, Key: aws.String(r.s.key(r.key)),
			Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
		})
		if err != nil {
			return &apiErr{err}
		}
		defer out.Body.Close()
		n, err = io.ReadFull(out.Body, p[:end-off+1])
		return err
	})
	if err != nil {
		return n, err
	}
	if short {
		return n, io.EOF
	}
	return n, nil
}

// Open implements Storage. Reads are ranged GETs; the reader keeps ctx for
// them, so it must not outlive the operation that opened it.
func (s *S3) Open(ctx context.Context, key string) (Reader, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	return &s3Reader{ctx: ctx, s: s, key: key, size: info.Size}, nil
}

// Put implements Storage.
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: aws.String(s.key(key)),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return s.wrap("put", key, err)
	}
	return nil
}

// PutIfAbsent implements Storage with a conditional PutObject
// (If-None-Match: *). 409 ConditionalRequestConflict (a concurrent
// conditional write in flight) is retried a few times.
func (s *S3) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: aws.String(s.key(key)),
			Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
			IfNoneMatch: aws.String("*"),
		})
		if err == nil {
			return nil
		}
		if statusOf(err) != http.StatusConflict {
			return s.wrap("put-if-absent", key, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("storage: s3 put-if-absent %s: %w", key, ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return s.wrap("put-if-absent", key, err)
}

// List implements Storage.
func (s *S3) List(ctx context.Context, prefix, startAfter string) ([]ObjectInfo, error) {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.key(prefix))}
	if prefix == "" && s.prefix != "" {
		in.Prefix = aws.String(s.prefix + "/")
	}
	if startAfter != "" {
		in.StartAfter = aws.String(s.key(startAfter))
	}
	var out []ObjectInfo
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if s.prefix != "" {
				k = strings.TrimPrefix(k, s.prefix+"/")
			}
			if strings.HasSuffix(k, "/") { // directory markers
				continue
			}
			out = append(out, ObjectInfo{Key: k, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

// Stat implements Storage.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		return ObjectInfo{}, s.wrap("head", key, err)
	}
	return ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// Delete implements Storage.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil && !errors.Is(s.wrap("delete", key, err), ErrNotExist) {
		return s.wrap("delete", key, err)
	}
	return nil
}

// CreateBucket creates the store's bucket; for tests against S3-compatible
// servers. An existing bucket owned by the caller is not an error.
func (s *S3) CreateBucket(ctx context.Context) error {
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	var api smithy.APIError
	if err != nil && errors.As(err, &api) && (api.ErrorCode() == "BucketAlreadyOwnedByYou" || api.ErrorCode() == "BucketAlreadyExists") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: s3 create bucket %s: %w", s.bucket, err)
	}
	return nil
}
