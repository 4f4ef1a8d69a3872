package lakehouse

import (
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// renamedNode presents a file schema with the standard LIST names
// ("list"/"element") while keeping field order, so parquet-go's
// path-based conversion maps other writers' lists (arrow-rs writes
// "list"/"item", older writers "bag"/"array_element") onto our row types.
type renamedNode struct {
	parquet.Node
	name   string
	fields []parquet.Field
}

func (n *renamedNode) Name() string                           { return n.name }
func (n *renamedNode) Fields() []parquet.Field                { return n.fields }
func (n *renamedNode) Value(base reflect.Value) reflect.Value { return base }

func normalizeLists(n parquet.Node, name string) *renamedNode {
	out := &renamedNode{Node: n, name: name}
	if n.Leaf() {
		return out
	}
	fields := n.Fields()
	lt := n.Type().LogicalType()
	isList := false
	if lt != nil {
		_, isList = lt.Value.(*format.ListType)
	}
	if isList && len(fields) == 1 && fields[0].Repeated() && !fields[0].Leaf() && len(fields[0].Fields()) == 1 {
		elem := normalizeLists(fields[0].Fields()[0], "element")
		out.fields = []parquet.Field{&renamedNode{Node: fields[0], name: "list", fields: []parquet.Field{elem}}}
		return out
	}
	for _, f := range fields {
		out.fields = append(out.fields, normalizeLists(f, f.Name()))
	}
	return out
}
