package lakehouse

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// StructType is a Delta schema (the JSON held in metaData.schemaString).
type StructType struct {
	Type   string        `json:"type"` // "struct"
	Fields []StructField `json:"fields"`
}

// StructField is one column of a Delta schema. Type is a primitive name
// ("long", "string", ...) or a nested *ArrayType / *StructType.
type StructField struct {
	Name     string         `json:"name"`
	Type     any            `json:"type"`
	Nullable bool           `json:"nullable"`
	Metadata map[string]any `json:"metadata"`
}

// ArrayType is a Delta array type.
type ArrayType struct {
	Type         string `json:"type"` // "array"
	ElementType  any    `json:"elementType"`
	ContainsNull bool   `json:"containsNull"`
}

// ParseSchema decodes a schemaString.
func ParseSchema(s string) (StructType, error) {
	var st StructType
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return st, fmt.Errorf("lakehouse: schema: %w", err)
	}
	if st.Type != "struct" {
		return st, fmt.Errorf("lakehouse: schema: top-level type %q, want struct", st.Type)
	}
	return st, nil
}

// typeString renders a field type for comparisons ("array<integer>").
func typeString(t any) string {
	switch v := t.(type) {
	case string:
		return v
	case map[string]any:
		switch v["type"] {
		case "array":
			return "array<" + typeString(v["elementType"]) + ">"
		case "map":
			return "map<" + typeString(v["keyType"]) + "," + typeString(v["valueType"]) + ">"
		case "struct":
			var parts []string
			fs, _ := v["fields"].([]any)
			for _, f := range fs {
				fm, _ := f.(map[string]any)
				parts = append(parts, fmt.Sprint(fm["name"])+":"+typeString(fm["type"]))
			}
			return "struct<" + strings.Join(parts, ",") + ">"
		}
	case *ArrayType:
		return "array<" + typeString(v.ElementType) + ">"
	}
	return fmt.Sprint(t)
}

// columnSpec describes one top-level column of a row type.
type columnSpec struct {
	name      string
	deltaType string // primitive name; "" for nested
	field     StructField
	leaf      int // leaf column index in the full parquet schema (-1 if nested)
}

// rowCodec maps a Go row type T onto a table: its Delta schema, its data
// columns (data files hold T without the partition columns), and how to
// pull partition values out of a row.
type rowCodec struct {
	typ        reflect.Type
	full       *parquet.Schema // all columns of T
	columns    []columnSpec
	schema     StructType
	partitions []string
	partIndex  [][]int // reflect field index of each partition column
	dataLeaves []columnSpec
}

func parquetName(f reflect.StructField) string {
	tag := f.Tag.Get("parquet")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

// newRowCodec derives the codec of T for the given partition columns.
func newRowCodec(typ reflect.Type, partitions []string) (*rowCodec, error) {
	if typ.Kind() != reflect.Struct {
		return nil, fmt.Errorf("lakehouse: row type %s is not a struct", typ)
	}
	c := &rowCodec{typ: typ, partitions: partitions}
	c.full = parquet.SchemaOf(reflect.New(typ).Interface())
	isPart := map[string]bool{}
	for _, p := range partitions {
		isPart[p] = true
	}
	found := map[string]bool{}
	c.partIndex = make([][]int, len(partitions))
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() || f.Tag.Get("parquet") == "-" {
			continue
		}
		name := parquetName(f)
		if isPart[name] {
			if f.Type.Kind() != reflect.String {
				return nil, fmt.Errorf("lakehouse: partition column %q must be a string field, is %s", name, f.Type)
			}
			for j, p := range partitions {
				if p == name {
					c.partIndex[j] = f.Index
				}
			}
			found[name] = true
		}
	}
	for _, p := range partitions {
		if !found[p] {
			return nil, fmt.Errorf("lakehouse: partition column %q is not a field of %s", p, typ)
		}
	}

	seen := map[string]bool{}
	for _, f := range c.full.Fields() {
		lower := strings.ToLower(f.Name())
		if seen[lower] {
			return nil, fmt.Errorf("lakehouse: column %q appears twice (names are case-insensitive)", f.Name())
		}
		seen[lower] = true
		t, err := deltaType(f)
		if err != nil {
			return nil, fmt.Errorf("lakehouse: column %q: %w", f.Name(), err)
		}
		spec := columnSpec{name: f.Name(), field: StructField{Name: f.Name(), Type: t, Nullable: true, Metadata: map[string]any{}}, leaf: -1}
		if s, ok := t.(string); ok {
			spec.deltaType = s
			if lc, ok := c.full.Lookup(f.Name()); ok {
				spec.leaf = lc.ColumnIndex
			}
		}
		c.columns = append(c.columns, spec)
		c.schema.Fields = append(c.schema.Fields, spec.field)
		if !isPart[f.Name()] {
			c.dataLeaves = append(c.dataLeaves, spec)
		}
	}
	c.schema.Type = "struct"
	return c, nil
}

// deltaType maps a Parquet node onto a Delta type.
func deltaType(n parquet.Node) (any, error) {
	lt := n.Type().LogicalType()
	var ltv format.LogicalTypeValue
	if lt != nil {
		ltv = lt.Value
	}
	if !n.Leaf() {
		if _, ok := ltv.(*format.ListType); ok {
			fields := n.Fields()
			if len(fields) != 1 || !fields[0].Repeated() || len(fields[0].Fields()) != 1 {
				return nil, fmt.Errorf("%w: LIST that is not 3-level", ErrUnsupported)
			}
			elem := fields[0].Fields()[0]
			et, err := deltaType(elem)
			if err != nil {
				return nil, err
			}
			return &ArrayType{Type: "array", ElementType: et, ContainsNull: elem.Optional()}, nil
		}
		return nil, fmt.Errorf("%w: nested group %s (only lists are supported)", ErrUnsupported, n.Type())
	}
	if n.Repeated() {
		return nil, fmt.Errorf("%w: repeated column without LIST (use the parquet `list` tag)", ErrUnsupported)
	}
	switch n.Type().Kind() {
	case parquet.Boolean:
		return "boolean", nil
	case parquet.Int32:
		switch v := ltv.(type) {
		case *format.DateType:
			return "date", nil
		case *format.IntType:
			if !v.IsSigned {
				return nil, fmt.Errorf("%w: unsigned integers", ErrUnsupported)
			}
			switch v.BitWidth {
			case 8:
				return "byte", nil
			case 16:
				return "short", nil
			}
		}
		return "integer", nil
	case parquet.Int64:
		switch v := ltv.(type) {
		case *format.TimestampType:
			if _, ok := v.Unit.Value.(*format.MicroSeconds); !ok || !v.IsAdjustedToUTC {
				return nil, fmt.Errorf("%w: timestamps must be microsecond UTC (tag `timestamp(microsecond)`), got %s", ErrUnsupported, v)
			}
			return "timestamp", nil
		case *format.IntType:
			if !v.IsSigned {
				return nil, fmt.Errorf("%w: unsigned integers", ErrUnsupported)
			}
		}
		return "long", nil
	case parquet.Float:
		return "float", nil
	case parquet.Double:
		return "double", nil
	case parquet.ByteArray:
		if _, ok := ltv.(*format.StringType); ok {
			return "string", nil
		}
		return "binary", nil
	}
	return nil, fmt.Errorf("%w: parquet type %s", ErrUnsupported, n.Type())
}

// schemaString renders the Delta schema.
func (c *rowCodec) schemaString() (string, error) {
	b, err := json.Marshal(c.schema)
	if err != nil {
		return "", fmt.Errorf("lakehouse: schema: %w", err)
	}
	return string(b), nil
}

// checkAgainst verifies that the row type carries the table's columns with
// the same types. Table columns missing from the row type are refused
// (they would be written as nulls silently).
func (c *rowCodec) checkAgainst(meta *Metadata) error {
	st, err := ParseSchema(meta.SchemaString)
	if err != nil {
		return err
	}
	mine := map[string]string{}
	for _, col := range c.columns {
		mine[col.name] = typeString(col.field.Type)
	}
	for _, f := range st.Fields {
		got, ok := mine[f.Name]
		if !ok {
			return fmt.Errorf("%w: table column %q missing from %s", ErrSchemaMismatch, f.Name, c.typ)
		}
		if want := typeString(f.Type); want != got {
			return fmt.Errorf("%w: column %q is %s in the table, %s in %s", ErrSchemaMismatch, f.Name, want, got, c.typ)
		}
		delete(mine, f.Name)
	}
	for name := range mine {
		return fmt.Errorf("%w: column %q of %s is not in the table", ErrSchemaMismatch, name, c.typ)
	}
	if strings.Join(meta.PartitionColumns, ",") != strings.Join(c.partitions, ",") {
		return fmt.Errorf("%w: partition columns %v, codec has %v", ErrSchemaMismatch, meta.PartitionColumns, c.partitions)
	}
	return nil
}
