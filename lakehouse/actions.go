package lakehouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Errors, matched with errors.Is.
var (
	// ErrCorrupt marks a log file or checkpoint that cannot be decoded or
	// is inconsistent. The message names the file and version.
	ErrCorrupt = errors.New("lakehouse: corrupt log")
	// ErrConflict is returned when a concurrent commit made ours unsafe
	// (it touched partitions we replace or files we remove, or changed the
	// metadata or protocol). Re-read and re-plan.
	ErrConflict = errors.New("lakehouse: concurrent commit conflicts")
	// ErrNotTable is returned when the location has no _delta_log.
	ErrNotTable = errors.New("lakehouse: not a delta table")
	// ErrTableExists is returned by Create when a table is already there.
	ErrTableExists = errors.New("lakehouse: table already exists")
	// ErrUnsupported is returned for tables using protocol features this
	// package does not implement.
	ErrUnsupported = errors.New("lakehouse: unsupported protocol feature")
	// ErrVersionNotFound is returned for time travel outside the log.
	ErrVersionNotFound = errors.New("lakehouse: version not found")
	// ErrSchemaMismatch is returned when a row type does not match the
	// table schema.
	ErrSchemaMismatch = errors.New("lakehouse: schema mismatch")
)

// Protocol is the protocol action.
type Protocol struct {
	MinReaderVersion int32    `json:"minReaderVersion"`
	MinWriterVersion int32    `json:"minWriterVersion"`
	ReaderFeatures   []string `json:"readerFeatures,omitempty"`
	WriterFeatures   []string `json:"writerFeatures,omitempty"`
}

// Format is metaData.format.
type Format struct {
	Provider string            `json:"provider"`
	Options  map[string]string `json:"options"`
}

// Metadata is the metaData action.
type Metadata struct {
	ID               string            `json:"id"`
	Name             string            `json:"name,omitempty"`
	Description      string            `json:"description,omitempty"`
	Format           Format            `json:"format"`
	SchemaString     string            `json:"schemaString"`
	PartitionColumns []string          `json:"partitionColumns"`
	Configuration    map[string]string `json:"configuration"`
	CreatedTime      *int64            `json:"createdTime,omitempty"`
}

// Add is the add action: one data file of the table. Path is the
// URI-encoded relative path as stored in the log; use FilePath for the
// storage key.
type Add struct {
	Path             string            `json:"path"`
	PartitionValues  map[string]string `json:"partitionValues"`
	Size             int64             `json:"size"`
	ModificationTime int64             `json:"modificationTime"`
	DataChange       bool              `json:"dataChange"`
	Stats            string            `json:"stats,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	DeletionVector   json.RawMessage   `json:"deletionVector,omitempty"`
}

// Remove is the remove action (a tombstone).
type Remove struct {
	Path                 string            `json:"path"`
	DeletionTimestamp    int64             `json:"deletionTimestamp"`
	DataChange           bool              `json:"dataChange"`
	ExtendedFileMetadata bool              `json:"extendedFileMetadata,omitempty"`
	PartitionValues      map[string]string `json:"partitionValues,omitempty"`
	Size                 int64             `json:"size,omitempty"`
	DeletionVector       json.RawMessage   `json:"deletionVector,omitempty"`
}

// Txn is the txn action: the last version an application committed.
type Txn struct {
	AppID       string `json:"appId"`
	Version     int64  `json:"version"`
	LastUpdated int64  `json:"lastUpdated,omitempty"`
}

// Action is one line of a commit file; exactly one field is set.
// Unknown action kinds (cdc, domainMetadata, ...) are kept raw.
type Action struct {
	CommitInfo map[string]any `json:"commitInfo,omitempty"`
	Protocol   *Protocol      `json:"protocol,omitempty"`
	Metadata   *Metadata      `json:"metaData,omitempty"`
	Add        *Add           `json:"add,omitempty"`
	Remove     *Remove        `json:"remove,omitempty"`
	Txn        *Txn           `json:"txn,omitempty"`
	// Other holds the name of an unrecognised action, which is ignored
	// on replay.
	Other string `json:"-"`
}

// FilePath decodes an add/remove path (an RFC 2396 URI reference) into
// the storage key relative to the table root.
func FilePath(p string) (string, error) {
	if strings.Contains(p, "://") {
		return "", fmt.Errorf("%w: absolute file path %q", ErrUnsupported, p)
	}
	s, err := url.PathUnescape(p)
	if err != nil {
		return "", fmt.Errorf("lakehouse: file path %q: %w", p, err)
	}
	return s, nil
}

// encodePath URI-encodes a relative storage key for add.path.
func encodePath(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// encodeActions renders a commit file: one JSON object per line.
func encodeActions(actions []Action) ([]byte, error) {
	var buf bytes.Buffer
	for _, a := range actions {
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("lakehouse: encode action: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// DecodeCommit parses one commit file. Every line must be one JSON object
// holding exactly one action; anything else is ErrCorrupt naming the file,
// version and line. A file that does not end in a newline is accepted only
// if its last line parses (writers of other engines omit it).
func DecodeCommit(name string, version int64, data []byte) ([]Action, error) {
	var out []Action
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: %s (version %d): empty commit file", ErrCorrupt, name, version)
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return nil, fmt.Errorf("%w: %s (version %d) line %d: %v", ErrCorrupt, name, version, i+1, err)
		}
		if len(raw) != 1 {
			return nil, fmt.Errorf("%w: %s (version %d) line %d: want one action per line, got %d keys", ErrCorrupt, name, version, i+1, len(raw))
		}
		var a Action
		for k, v := range raw {
			var err error
			switch k {
			case "commitInfo":
				err = json.Unmarshal(v, &a.CommitInfo)
				if a.CommitInfo == nil {
					a.CommitInfo = map[string]any{}
				}
			case "protocol":
				err = unmarshalObject(v, &a.Protocol)
			case "metaData":
				err = unmarshalObject(v, &a.Metadata)
			case "add":
				err = unmarshalObject(v, &a.Add)
				if err == nil && a.Add.Path == "" {
					err = errors.New("add without path")
				}
			case "remove":
				err = unmarshalObject(v, &a.Remove)
				if err == nil && a.Remove.Path == "" {
					err = errors.New("remove without path")
				}
			case "txn":
				err = unmarshalObject(v, &a.Txn)
				if err == nil && a.Txn.AppID == "" {
					err = errors.New("txn without appId")
				}
			case "":
				err = errors.New("action with an empty name")
			default:
				a.Other = k
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %s (version %d) line %d: %s: %v", ErrCorrupt, name, version, i+1, k, err)
			}
		}
		out = append(out, a)
	}
	if err := checkMetrics(name, version, out); err != nil {
		return nil, err
	}
	return out, nil
}

// unmarshalObject decodes a JSON object into *dst, refusing null.
func unmarshalObject[T any](v json.RawMessage, dst **T) error {
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return errors.New("null action")
	}
	*dst = new(T)
	return json.Unmarshal(v, *dst)
}
