package mlflowclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// ArtifactsService moves files to and from a run's (or model's) artifact
// store through the tracking server's proxied artifact API
// (/api/2.0/mlflow-artifacts/artifacts), which servers started with
// --serve-artifacts (the default) provide. Locations are artifact URIs as
// the server hands them out, e.g. a run's RunInfo.ArtifactURI
// "mlflow-artifacts:/1/<run_id>/artifacts"; paths below them use "/".
type ArtifactsService service

// FileInfo describes one artifact.
type FileInfo struct {
	Path     string `json:"path"` // relative to the artifact URI given to List
	IsDir    bool   `json:"is_dir"`
	FileSize int64  `json:"file_size"` // 0 for directories
}

// UnmarshalJSON accepts file_size as a number or a string.
func (f *FileInfo) UnmarshalJSON(b []byte) error {
	type plain FileInfo
	w := struct {
		*plain
		FileSize jsonInt64 `json:"file_size"`
	}{plain: (*plain)(f)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	f.FileSize = int64(w.FileSize)
	return nil
}

// RunArtifactURI returns the artifact URI of a run.
//
// GET /api/2.0/mlflow/runs/get
func (s *ArtifactsService) RunArtifactURI(ctx context.Context, runID string) (string, error) {
	run, err := s.client.Runs.Get(ctx, runID)
	if err != nil {
		return "", err
	}
	return run.Info.ArtifactURI, nil
}

// ProxiedPath maps an artifact URI of the proxied store to the path the
// mlflow-artifacts API takes: "mlflow-artifacts:/1/abc/artifacts" and
// "mlflow-artifacts://host:5000/1/abc/artifacts" both give
// "1/abc/artifacts". Other stores (s3://, file:, …) are not reachable
// through the tracking server and give an error.
func ProxiedPath(artifactURI string) (string, error) {
	u, err := url.Parse(artifactURI)
	if err != nil {
		return "", fmt.Errorf("mlflowclient: artifact URI: %w", err)
	}
	if u.Scheme != "mlflow-artifacts" {
		return "", fmt.Errorf("mlflowclient: artifact URI %q is not served by the tracking server (want mlflow-artifacts:); start the server with --serve-artifacts and no --default-artifact-root", artifactURI)
	}
	p := strings.Trim(u.Path, "/")
	if p != "" {
		if err := checkRelPath(p); err != nil {
			return "", fmt.Errorf("mlflowclient: artifact URI %q: %w", artifactURI, err)
		}
	}
	return p, nil
}

// checkRelPath refuses what the server refuses (mlflow/utils/uri.py
// validate_path_is_safe) and what would escape the artifact root: empty,
// ".", ".." and absolute segments, backslashes, NUL and "#". (The server
// also URL-decodes paths until they stop changing, so a name with "%XX" in
// it is stored decoded.)
func checkRelPath(p string) error {
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("artifact path %q must be relative", p)
	}
	if strings.ContainsAny(p, "\x00\\#") {
		return fmt.Errorf("artifact path %q has a NUL, backslash or #, which the server refuses", p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("artifact path %q has an empty, . or .. segment", p)
		}
	}
	return nil
}

// proxiedRoute joins the artifact URI and a relative path into an escaped
// route below /api/2.0/mlflow-artifacts/artifacts, and returns the joined
// path unescaped too.
func proxiedRoute(artifactURI, rel string) (route, joined string, err error) {
	root, err := ProxiedPath(artifactURI)
	if err != nil {
		return "", "", err
	}
	rel = strings.Trim(rel, "/")
	if rel != "" {
		if err := checkRelPath(rel); err != nil {
			return "", "", fmt.Errorf("mlflowclient: %w", err)
		}
	}
	joined = strings.Trim(root+"/"+rel, "/")
	if joined == "" {
		return artifactsPrefix, "", nil
	}
	var b strings.Builder
	b.WriteString(artifactsPrefix)
	for seg := range strings.SplitSeq(joined, "/") {
		b.WriteString("/")
		b.WriteString(url.PathEscape(seg))
	}
	return b.String(), joined, nil
}

// Upload stores content as the artifact at path below artifactURI,
// replacing any file there. The content is read into memory first: the
// server needs a Content-Length, and an in-memory body can be resent on a
// retry.
//
// Paths must be ASCII: MLflow 3.7 stores other names but fails with a 500
// when serving them (it cannot encode the Content-Disposition header).
//
// PUT /api/2.0/mlflow-artifacts/artifacts/{root}/{path}
func (s *ArtifactsService) Upload(ctx context.Context, artifactURI, path string, content io.Reader) error {
	if strings.Trim(path, "/") == "" {
		return errors.New("mlflowclient: upload needs a file path")
	}
	for _, r := range path {
		if r >= utf8.RuneSelf {
			return fmt.Errorf("mlflowclient: artifact path %q is not ASCII; the server could not serve it back", path)
		}
	}
	route, _, err := proxiedRoute(artifactURI, path)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(content)
	if err != nil {
		return fmt.Errorf("mlflowclient: upload %s: read content: %w", path, err)
	}
	return s.client.do(ctx, request{method: "PUT", route: route, body: rawBody(data), idempotent: true}, nil)
}

// UploadFile uploads the local file as the artifact at path.
func (s *ArtifactsService) UploadFile(ctx context.Context, artifactURI, path, localFile string) error {
	f, err := os.Open(localFile)
	if err != nil {
		return fmt.Errorf("mlflowclient: %w", err)
	}
	defer f.Close()
	return s.Upload(ctx, artifactURI, path, f)
}

// UploadDir uploads every regular file below localDir to the same relative
// place below dir (which may be "" for the root) and returns how many files
// it sent. Empty directories are not represented in an artifact store.
func (s *ArtifactsService) UploadDir(ctx context.Context, artifactURI, dir, localDir string) (int, error) {
	n := 0
	err := filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("mlflowclient: upload dir: %w", err)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(localDir, p)
		if err != nil {
			return fmt.Errorf("mlflowclient: upload dir: %w", err)
		}
		if err := s.UploadFile(ctx, artifactURI, joinRel(dir, filepath.ToSlash(rel)), p); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

func joinRel(dir, rel string) string {
	if dir = strings.Trim(dir, "/"); dir == "" {
		return rel
	}
	return path.Join(dir, rel)
}

// Download writes the artifact at path below artifactURI to w and returns
// the number of bytes written. A missing artifact gives an error matching
// [ErrNotFound] (the server reports it as a 500 INTERNAL_ERROR).
//
// GET /api/2.0/mlflow-artifacts/artifacts/{root}/{path}
func (s *ArtifactsService) Download(ctx context.Context, artifactURI, path string, w io.Writer) (int64, error) {
	if strings.Trim(path, "/") == "" {
		return 0, errors.New("mlflowclient: download needs a file path")
	}
	route, _, err := proxiedRoute(artifactURI, path)
	if err != nil {
		return 0, err
	}
	var n int64
	req := request{method: "GET", route: route, idempotent: true, permanent: isMissingArtifact}
	err = s.client.doStream(ctx, req, func(r io.Reader) error {
		var cerr error
		n, cerr = io.Copy(w, r)
		if cerr != nil {
			return fmt.Errorf("mlflowclient: download %s: %w", path, cerr)
		}
		return nil
	})
	var ae *APIError
	if errors.As(err, &ae) && isMissingArtifact(ae) {
		asNotFound(err)
	}
	return n, err
}

// isMissingArtifact recognises the local artifact store's answer for a
// missing file: 500 INTERNAL_ERROR "... No such file or directory ...".
// It is final, so it is not retried.
func isMissingArtifact(ae *APIError) bool {
	return ae.ErrorCode == "INTERNAL_ERROR" && strings.Contains(ae.Message, "No such file or directory")
}

// List returns the files and directories directly below path (use "" for
// the root of artifactURI), with paths relative to artifactURI. A missing
// directory lists as empty.
//
// GET /api/2.0/mlflow-artifacts/artifacts?path={root}/{path}
func (s *ArtifactsService) List(ctx context.Context, artifactURI, dir string) ([]FileInfo, error) {
	_, joined, err := proxiedRoute(artifactURI, dir)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if joined != "" {
		q.Set("path", joined)
	}
	var out struct {
		Files []FileInfo `json:"files"`
	}
	if err := s.client.do(ctx, request{method: "GET", route: artifactsPrefix, query: q, idempotent: true}, &out); err != nil {
		return nil, err
	}
	dir = strings.Trim(dir, "/")
	for i := range out.Files {
		// The proxied API answers base names; the runs API answers paths
		// relative to the root. Give the latter.
		out.Files[i].Path = joinRel(dir, path.Base(out.Files[i].Path))
	}
	return out.Files, nil
}
