package scenario

import (
	"fmt"
	"reflect"

	"github.com/flashload/flashload/gate"
	"github.com/goccy/go-yaml/ast"
)

// GateList is the scenario's gates, as expressions in file order. An entry is an expression
// ("p(99) < 500ms") or a mapping {expr, abort}: `abort: true` (k6's abortOnFail) stops the run
// as soon as the gate fails on the run so far (Scenario.AbortGates lists those).
type GateList []string

// Gate is the mapping form of a gates entry.
type Gate struct {
	Expr  string `yaml:"expr"`
	Abort bool   `yaml:"abort"`
}

var gateListType = reflect.TypeOf(GateList(nil))

// decodeGates reads the gates list: strings and {expr, abort} mappings.
func (d *decoder) decodeGates(n ast.Node, v reflect.Value, path string, depth int) {
	var items []ast.Node
	if seq, ok := n.(*ast.SequenceNode); ok {
		items = seq.Values
	} else {
		items = []ast.Node{n} // one gate where a list is expected is a list of one
	}
	out := make(GateList, 0, len(items))
	for i, e := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		e = d.resolve(e, depth+1)
		if _, isMap := d.mapping(e, depth+1); isMap {
			var g Gate
			d.decode(e, reflect.ValueOf(&g).Elem(), p, depth+1)
			if g.Expr == "" && !d.bad[p] && !d.bad[p+".expr"] {
				d.errNode(e, p, "a gate mapping needs expr (and abort: true to stop the run when it fails)")
			}
			out = append(out, g.Expr)
			if g.Abort {
				d.abortGates = append(d.abortGates, g.Expr)
			}
			continue
		}
		var s string
		d.decode(e, reflect.ValueOf(&s).Elem(), p, depth+1)
		out = append(out, s)
	}
	v.Set(reflect.ValueOf(out))
}

// validateGates parses each gate with report's threshold grammar.
func (v *validator) validateGates() {
	for i, g := range v.s.Gates {
		path := fmt.Sprintf("gates[%d]", i)
		if _, ok := v.d.pos[path+".expr"]; ok {
			path += ".expr"
		}
		if g == "" && path != fmt.Sprintf("gates[%d]", i) {
			continue // reported by decodeGates
		}
		if _, err := gate.Parse(g); err != nil {
			v.problem(path, "%v", err)
		}
	}
}
