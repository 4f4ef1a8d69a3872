package mlflowclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// DefaultUserAgent is sent unless [WithUserAgent] says otherwise.
const DefaultUserAgent = "telcotraffic-mlflowclient/1"

const (
	apiPrefix       = "/api/2.0/mlflow/"
	artifactsPrefix = "/api/2.0/mlflow-artifacts/artifacts"

	// maxErrorBody bounds how much of an error body is read and kept.
	maxErrorBody = 64 << 10
)

// Client talks to one MLflow tracking server. It is safe for concurrent use.
type Client struct {
	http    *resty.Client
	baseURL string // scheme://host[:port][/prefix], no trailing slash

	Experiments      *ExperimentsService
	Runs             *RunsService
	Artifacts        *ArtifactsService
	RegisteredModels *RegisteredModelsService
	ModelVersions    *ModelVersionsService
}

type service struct{ client *Client }

// config collects what the options set; New validates it.
type config struct {
	httpClient  *http.Client
	user, pass  string
	basicAuth   bool
	token       string
	timeout     time.Duration
	retries     int
	minWait     time.Duration
	maxWait     time.Duration
	userAgent   string
	insecureTLS bool
}

// Option configures a [Client].
type Option func(*config)

// WithBasicAuth sends HTTP basic credentials (MLflow's basic-auth app).
func WithBasicAuth(username, password string) Option {
	return func(c *config) { c.user, c.pass, c.basicAuth = username, password, true }
}

// WithToken sends "Authorization: Bearer token" (Databricks, or a proxy in
// front of MLflow).
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// Defaults of the timeout and retry options: an idempotent call rides out
// a server that is down or restarting for about 15 s (waits of 1+2+4+8 s),
// and a stalled server makes it fail within GiveUpBound (6 attempts of
// 15 s plus 23 s of waits: 113 s). MLflow's own default (120 s per
// attempt, MLFLOW_HTTP_REQUEST_TIMEOUT) would stall a task for 10 minutes.
const (
	DefaultTimeout = 15 * time.Second
	DefaultRetries = 5
	DefaultMinWait = time.Second
	DefaultMaxWait = 8 * time.Second
)

// GiveUpBound is the longest an idempotent call takes with the default
// options when every attempt times out.
func GiveUpBound() time.Duration {
	total := time.Duration(DefaultRetries+1) * DefaultTimeout
	for a := 1; a <= DefaultRetries; a++ {
		total += backoff(a, DefaultMinWait, DefaultMaxWait)
	}
	return total
}

// backoff is the wait before retry attempt+1: minWait doubling up to
// maxWait, without random jitter, so that the waits add up to ride out an
// outage of a known length.
func backoff(attempt int, minWait, maxWait time.Duration) time.Duration {
	return min(minWait<<min(attempt-1, 20), maxWait)
}

// WithTimeout bounds each HTTP attempt, including reading the body
// (default DefaultTimeout; MLFLOW_HTTP_REQUEST_TIMEOUT in NewFromEnv). Use
// the context to bound a call with all its retries.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithRetries sets how often an idempotent call is retried (default
// DefaultRetries) and the backoff bounds (default DefaultMinWait doubling
// up to DefaultMaxWait). n = 0 disables retries.
func WithRetries(n int, minWait, maxWait time.Duration) Option {
	return func(c *config) { c.retries, c.minWait, c.maxWait = n, minWait, maxWait }
}

// WithUserAgent replaces [DefaultUserAgent].
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// WithHTTPClient makes the client send through hc (its Transport, TLS
// settings and cookie jar are kept; its Timeout is replaced by [WithTimeout]).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithInsecureTLS skips verification of the server's certificate, as
// MLFLOW_TRACKING_INSECURE_TLS=true does for the Python client.
func WithInsecureTLS() Option { return func(c *config) { c.insecureTLS = true } }

// New returns a client for the tracking server at baseURL, an http or https
// URL such as "http://127.0.0.1:5000" (a path prefix is kept, for servers
// behind a proxy).
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{
		timeout:   DefaultTimeout,
		retries:   DefaultRetries,
		minWait:   DefaultMinWait,
		maxWait:   DefaultMaxWait,
		userAgent: DefaultUserAgent,
	}
	for _, o := range opts {
		o(&cfg)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("mlflowclient: tracking URI: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("mlflowclient: tracking URI %q: only http(s)://host[:port] servers are supported", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mlflowclient: tracking URI %q: query and fragment are not allowed", baseURL)
	}
	if cfg.basicAuth && cfg.token != "" {
		return nil, errors.New("mlflowclient: both basic auth and a bearer token given; choose one")
	}
	if cfg.retries < 0 || cfg.minWait < 0 || cfg.maxWait < cfg.minWait {
		return nil, fmt.Errorf("mlflowclient: invalid retries %d, wait %v..%v", cfg.retries, cfg.minWait, cfg.maxWait)
	}

	var rc *resty.Client
	if cfg.httpClient != nil {
		hc := *cfg.httpClient // resty mutates the client it is given
		rc = resty.NewWithClient(&hc)
	} else {
		rc = resty.New()
	}
	rc.SetTimeout(cfg.timeout).
		SetRetryCount(cfg.retries).
		SetRetryWaitTime(cfg.minWait).
		SetRetryMaxWaitTime(cfg.maxWait).
		SetRetryAfter(retryAfter(cfg.minWait, cfg.maxWait)).
		SetHeader("User-Agent", cfg.userAgent).
		SetLogger(quietLogger{}).
		SetDisableWarn(true)
	if cfg.basicAuth {
		rc.SetBasicAuth(cfg.user, cfg.pass)
	}
	if cfg.token != "" {
		rc.SetAuthToken(cfg.token)
	}
	if cfg.insecureTLS {
		rc.SetTLSClientConfig(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // asked for explicitly
	}

	c := &Client{http: rc, baseURL: strings.TrimRight(u.String(), "/")}
	c.Experiments = &ExperimentsService{client: c}
	c.Runs = &RunsService{client: c}
	c.Artifacts = &ArtifactsService{client: c}
	c.RegisteredModels = &RegisteredModelsService{client: c}
	c.ModelVersions = &ModelVersionsService{client: c}
	return c, nil
}

// NewFromEnv builds a client from the variables the Python client reads,
// looked up with lookup (pass os.Getenv; libraries do not read the
// environment themselves):
//
//	MLFLOW_TRACKING_URI                 required, http(s) URL
//	MLFLOW_TRACKING_USERNAME, _PASSWORD basic auth
//	MLFLOW_TRACKING_TOKEN               bearer token
//	MLFLOW_TRACKING_INSECURE_TLS        "true"/"false"/"1"/"0"
//	MLFLOW_HTTP_REQUEST_TIMEOUT         seconds per attempt
//	MLFLOW_HTTP_REQUEST_MAX_RETRIES     retries of idempotent calls
//
// opts are applied after the environment, so they win.
func NewFromEnv(lookup func(string) string, opts ...Option) (*Client, error) {
	uri := lookup("MLFLOW_TRACKING_URI")
	if uri == "" {
		return nil, errors.New("mlflowclient: MLFLOW_TRACKING_URI is not set")
	}
	var envOpts []Option
	user, pass := lookup("MLFLOW_TRACKING_USERNAME"), lookup("MLFLOW_TRACKING_PASSWORD")
	if user != "" || pass != "" {
		envOpts = append(envOpts, WithBasicAuth(user, pass))
	}
	if tok := lookup("MLFLOW_TRACKING_TOKEN"); tok != "" {
		envOpts = append(envOpts, WithToken(tok))
	}
	if v := lookup("MLFLOW_TRACKING_INSECURE_TLS"); v != "" {
		insecure, err := parseEnvBool(v)
		if err != nil {
			return nil, fmt.Errorf("mlflowclient: MLFLOW_TRACKING_INSECURE_TLS: %w", err)
		}
		if insecure {
			envOpts = append(envOpts, WithInsecureTLS())
		}
	}
	if v := lookup("MLFLOW_HTTP_REQUEST_TIMEOUT"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs <= 0 {
			return nil, fmt.Errorf("mlflowclient: MLFLOW_HTTP_REQUEST_TIMEOUT=%q: want positive seconds", v)
		}
		envOpts = append(envOpts, WithTimeout(time.Duration(secs*float64(time.Second))))
	}
	if v := lookup("MLFLOW_HTTP_REQUEST_MAX_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("mlflowclient: MLFLOW_HTTP_REQUEST_MAX_RETRIES=%q: want a count >= 0", v)
		}
		envOpts = append(envOpts, func(c *config) { c.retries = n })
	}
	return New(uri, append(envOpts, opts...)...)
}

func parseEnvBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not one of true, false, 1, 0", v)
}

// BaseURL returns the tracking server URL the client talks to.
func (c *Client) BaseURL() string { return c.baseURL }

// request is one REST call: the single path every method goes through.
type request struct {
	method     string
	route      string     // path below the base URL, already escaped
	query      url.Values // GET parameters
	body       any        // marshalled to JSON unless it is rawBody
	idempotent bool       // safe to send again after a failure
	// permanent, if set, picks answers with a retryable status that are
	// final all the same (a missing artifact is a 500).
	permanent func(*APIError) bool
}

// rawBody is an opaque request body (artifact uploads).
type rawBody []byte

// do sends req and decodes a 2xx JSON answer into out (which may be nil).
// Non-2xx answers come back as *APIError.
func (c *Client) do(ctx context.Context, req request, out any) error {
	r, err := c.newRequest(ctx, req, false)
	if err != nil {
		return err
	}
	resp, err := r.Execute(req.method, c.baseURL+req.route)
	if err != nil {
		return c.transportError(req, err)
	}
	return decodeResponse(req.method, req.route, resp.StatusCode(), resp.Body(), out)
}

// doStream sends req and, on a 2xx answer, hands the open body to consume.
func (c *Client) doStream(ctx context.Context, req request, consume func(io.Reader) error) error {
	r, err := c.newRequest(ctx, req, true)
	if err != nil {
		return err
	}
	resp, err := r.Execute(req.method, c.baseURL+req.route)
	if err != nil {
		return c.transportError(req, err)
	}
	body := resp.RawBody()
	defer body.Close()
	if resp.StatusCode() < 200 || resp.StatusCode() > 299 {
		b, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
		return decodeResponse(req.method, req.route, resp.StatusCode(), b, nil)
	}
	return consume(body)
}

func (c *Client) newRequest(ctx context.Context, req request, stream bool) (*resty.Request, error) {
	r := c.http.R().SetContext(ctx).SetDoNotParseResponse(stream)
	if req.query != nil {
		r.SetQueryParamsFromValues(req.query)
	}
	switch b := req.body.(type) {
	case nil:
	case rawBody:
		// A []byte body gives the request a Content-Length (the server
		// stores an empty file for chunked uploads) and can be resent.
		r.SetHeader("Content-Type", "application/octet-stream").SetBody([]byte(b))
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("mlflowclient: %s %s: encode request: %w", req.method, req.route, err)
		}
		r.SetHeader("Content-Type", "application/json").SetBody(buf)
	}
	r.AddRetryCondition(func(resp *resty.Response, err error) bool {
		if !req.idempotent || !shouldRetry(resp, err) {
			return false
		}
		if err != nil {
			return true
		}
		body := resp.Body()
		if stream {
			// A streamed answer is still open. Buffer the (small) error
			// body and free the connection: the next attempt needs it, or
			// the caller reads the buffer if this was the last one.
			body, _ = io.ReadAll(io.LimitReader(resp.RawResponse.Body, maxErrorBody))
			_ = resp.RawResponse.Body.Close()
			resp.RawResponse.Body = io.NopCloser(bytes.NewReader(body))
		}
		return req.permanent == nil || !req.permanent(newAPIError(req.method, req.route, resp.StatusCode(), body))
	})
	return r, nil
}

func (c *Client) transportError(req request, err error) error {
	return fmt.Errorf("mlflowclient: %s %s: %w", req.method, req.route, err)
}

// shouldRetry says whether a failed attempt of an idempotent call may be
// sent again: transport errors and 429/500/502/503/504,
// the statuses Python MLflow's REST client retries.
func shouldRetry(resp *resty.Response, err error) bool {
	if err != nil {
		// Transport failures and per-attempt timeouts. resty stops by
		// itself once the caller's context is done.
		return true
	}
	if resp == nil {
		return false
	}
	switch resp.StatusCode() {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter honours a Retry-After header given in seconds, and otherwise
// waits backoff(attempt) (resty's own backoff is random down to minWait
// every time); resty clamps the result to the wait bounds. (0, nil) means
// "use resty's backoff", for a response without its request.
func retryAfter(minWait, maxWait time.Duration) resty.RetryAfterFunc {
	return func(_ *resty.Client, resp *resty.Response) (time.Duration, error) {
		if resp == nil || resp.Request == nil {
			return 0, nil
		}
		if resp.RawResponse != nil {
			if secs, err := strconv.Atoi(resp.Header().Get("Retry-After")); err == nil && secs > 0 {
				return time.Duration(secs) * time.Second, nil
			}
		}
		return max(backoff(resp.Request.Attempt, minWait, maxWait), time.Nanosecond), nil
	}
}

// quietLogger drops resty's own logging: errors reach the caller as values.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}

// api builds a route below /api/2.0/mlflow/.
func api(path string) string { return apiPrefix + path }

// decodeResponse is the single decoder of server answers: a 2xx body is
// JSON for out (an empty body counts as {}); anything else becomes *APIError.
func decodeResponse(method, route string, status int, body []byte, out any) error {
	if status < 200 || status > 299 {
		return newAPIError(method, route, status, body)
	}
	if out == nil {
		return nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return fmt.Errorf("mlflowclient: %s %s: decode %d response %q: %w",
			method, route, status, shorten(string(trimmed), 200), err)
	}
	return nil
}
