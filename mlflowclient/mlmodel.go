package mlflowclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MLmodelFileName is the file MLflow looks for at the root of a model
// directory.
const MLmodelFileName = "MLmodel"

// TelcoTrafficFlavor is the name of our own flavor, describing the whole
// model bundle. MLflow ignores flavors it does not know.
const TelcoTrafficFlavor = "telcotraffic"

// MLmodel is the metadata file of an MLflow model directory. Marshal writes
// it as YAML (the MLmodel file); JSON writes the same document as JSON (the
// model_json of [RunsService.LogModel]).
//
// What Python MLflow 3.7 reads when loading (mlflow/models/model.py,
// mlflow/xgboost/__init__.py, mlflow/pyfunc/__init__.py):
//
//   - mlflow.xgboost.load_model(uri) downloads the directory, parses MLmodel
//     (any top-level keys; unknown ones are kept), takes flavors.xgboost and
//     instantiates flavors.xgboost.model_class (default
//     xgboost.core.Booster), then calls load_model(<dir>/<flavors.xgboost.data>).
//     code may be null. xgb_version and model_format are recorded, not checked.
//   - mlflow.pyfunc.load_model(uri) needs flavors.python_function with
//     loader_module "mlflow.xgboost" and data (the same file); python_version
//     only feeds a warning, and env files are needed only to rebuild an
//     environment (mlflow models serve with an env manager).
//   - runs/log-model requires artifact_path, flavors, utc_time_created and
//     run_id.
type MLmodel struct {
	ArtifactPath   string    // e.g. "model": where the directory sits in the run's artifacts
	RunID          string    // run that logged the model
	ModelUUID      string    // optional unique id (32 hex digits in Python)
	UTCTimeCreated time.Time // written as "2006-01-02 15:04:05.000000" in UTC
	MLflowVersion  string    // optional; the MLflow version this file targets
	ModelSizeBytes int64     // optional; total size of the directory

	XGBoost *XGBoostFlavor // the tree member, loadable by mlflow.xgboost
	// PyFunc adds the python_function flavor pointing at mlflow.xgboost, so
	// mlflow.pyfunc.load_model and the UI's pyfunc snippets work. Needs
	// XGBoost. Its data names the tree file only when that file lies at the
	// model directory's root: the pyfunc loader hands mlflow.xgboost the
	// path data names, and mlflow.xgboost looks for MLmodel in that file's
	// directory, which is wrong for a file in a subfolder (xgb/model.json);
	// without data it gets the model directory and finds the file through
	// the xgboost flavor.
	PyFunc bool
	// PythonVersion goes into python_function (e.g. "3.11.7"); optional.
	PythonVersion string

	Flavors  []Flavor // other flavors, e.g. Name: TelcoTrafficFlavor
	Metadata []Field  // free-form metadata block
}

// XGBoostFlavor is MLflow's xgboost flavor, as mlflow.xgboost.save_model
// writes it.
type XGBoostFlavor struct {
	XGBVersion  string // version of the XGBoost library that wrote the file, e.g. "1.7.4"
	Data        string // model file relative to the model directory, e.g. "model.ubj"
	ModelClass  string // Python class to load into; default "xgboost.core.Booster"
	ModelFormat string // "ubj", "json" or "xgb"/"deprecated"; default from Data's extension
}

// Flavor is a named flavor with ordered fields.
type Flavor struct {
	Name   string
	Fields []Field
}

// Field is one key of a flavor or of metadata. Value is a string, bool,
// int, int64, float64, []string, []Field (a nested mapping) or nil.
type Field struct {
	Key   string
	Value any
}

// Marshal returns the MLmodel YAML document.
func (m *MLmodel) Marshal() ([]byte, error) {
	doc, err := m.document()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeYAML(&b, doc, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// JSON returns the same document as JSON.
func (m *MLmodel) JSON() ([]byte, error) {
	doc, err := m.document()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeJSON(&b, doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// document builds the ordered key tree, keys sorted like Python's
// yaml.safe_dump sorts them.
func (m *MLmodel) document() ([]Field, error) {
	var flavors []Field
	if m.XGBoost != nil {
		x := *m.XGBoost
		if x.Data == "" || x.XGBVersion == "" {
			return nil, errors.New("mlflowclient: MLmodel: xgboost flavor needs Data and XGBVersion")
		}
		if x.ModelClass == "" {
			x.ModelClass = "xgboost.core.Booster"
		}
		if x.ModelFormat == "" {
			switch path.Ext(x.Data) {
			case ".ubj":
				x.ModelFormat = "ubj"
			case ".json":
				x.ModelFormat = "json"
			default:
				return nil, fmt.Errorf("mlflowclient: MLmodel: cannot tell the model format of %q; set ModelFormat", x.Data)
			}
		}
		flavors = append(flavors, Field{"xgboost", []Field{
			{"code", nil},
			{"data", x.Data},
			{"model_class", x.ModelClass},
			{"model_format", x.ModelFormat},
			{"xgb_version", x.XGBVersion},
		}})
		if m.PyFunc {
			pf := []Field{{"loader_module", "mlflow.xgboost"}}
			if !strings.Contains(x.Data, "/") {
				pf = append([]Field{{"data", x.Data}}, pf...)
			}
			if m.PythonVersion != "" {
				pf = append(pf, Field{"python_version", m.PythonVersion})
			}
			flavors = append(flavors, Field{"python_function", pf})
		}
	} else if m.PyFunc {
		return nil, errors.New("mlflowclient: MLmodel: PyFunc needs the xgboost flavor")
	}
	for _, f := range m.Flavors {
		if f.Name == "" || f.Name == "xgboost" || f.Name == "python_function" {
			return nil, fmt.Errorf("mlflowclient: MLmodel: flavor name %q is empty or reserved", f.Name)
		}
		if slices.ContainsFunc(flavors, func(g Field) bool { return g.Key == f.Name }) {
			return nil, fmt.Errorf("mlflowclient: MLmodel: flavor %q given twice", f.Name)
		}
		flavors = append(flavors, Field{f.Name, f.Fields})
	}
	if len(flavors) == 0 {
		return nil, errors.New("mlflowclient: MLmodel: no flavors")
	}
	slices.SortFunc(flavors, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })

	created := m.UTCTimeCreated
	if created.IsZero() {
		created = time.Now()
	}
	doc := []Field{{"flavors", flavors}}
	if m.ArtifactPath != "" {
		doc = append(doc, Field{"artifact_path", m.ArtifactPath})
	}
	if m.MLflowVersion != "" {
		doc = append(doc, Field{"mlflow_version", m.MLflowVersion})
	}
	if m.ModelSizeBytes > 0 {
		doc = append(doc, Field{"model_size_bytes", m.ModelSizeBytes})
	}
	if m.ModelUUID != "" {
		doc = append(doc, Field{"model_uuid", m.ModelUUID})
	}
	if m.RunID != "" {
		doc = append(doc, Field{"run_id", m.RunID})
	}
	if len(m.Metadata) > 0 {
		doc = append(doc, Field{"metadata", m.Metadata})
	}
	doc = append(doc, Field{"utc_time_created", created.UTC().Format("2006-01-02 15:04:05.000000")})
	slices.SortFunc(doc, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	return doc, nil
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// writeYAML writes fields as a block mapping. Scalars are written in JSON
// form, which YAML reads as the same values (a JSON string is a valid
// double-quoted YAML scalar).
func writeYAML(w io.Writer, fields []Field, indent int) error {
	pad := strings.Repeat("  ", indent)
	for _, f := range fields {
		key := f.Key
		if !plainKey.MatchString(key) {
			key = strconv.Quote(key)
		}
		if nested, ok := f.Value.([]Field); ok {
			if len(nested) == 0 {
				fmt.Fprintf(w, "%s%s: {}\n", pad, key)
				continue
			}
			fmt.Fprintf(w, "%s%s:\n", pad, key)
			if err := writeYAML(w, nested, indent+1); err != nil {
				return err
			}
			continue
		}
		v, err := scalarJSON(f.Key, f.Value)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s%s: %s\n", pad, key, v)
	}
	return nil
}

func writeJSON(w *bytes.Buffer, fields []Field) error {
	w.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(',')
		}
		k, _ := json.Marshal(f.Key)
		w.Write(k)
		w.WriteByte(':')
		if nested, ok := f.Value.([]Field); ok {
			if err := writeJSON(w, nested); err != nil {
				return err
			}
			continue
		}
		v, err := scalarJSON(f.Key, f.Value)
		if err != nil {
			return err
		}
		w.WriteString(v)
	}
	w.WriteByte('}')
	return nil
}

func scalarJSON(key string, v any) (string, error) {
	switch v.(type) {
	case nil, string, bool, int, int64, float64, []string:
	default:
		return "", fmt.Errorf("mlflowclient: MLmodel field %q: unsupported value type %T", key, v)
	}
	if s, ok := v.([]string); ok && s == nil {
		v = []string{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("mlflowclient: MLmodel field %q: %w", key, err)
	}
	return string(b), nil
}
