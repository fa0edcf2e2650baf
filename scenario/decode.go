package scenario

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Why a decoder of our own over goccy/go-yaml's AST rather than yaml.Unmarshal with
// DisallowUnknownField: Unmarshal stops at the first problem, and a scenario file must report
// every problem at once with its line and column. Walking the AST against the Go types gives
// both, plus the short forms (`users: 5000000`, `think: 1s`, `status: 429`, `rps: 350k`).

// FieldError is one problem in a scenario file, at a position.
type FieldError struct {
	File      string
	Line, Col int
	Path      string // YAML path: traffic.stages[1].peak ("" for the whole file)
	Msg       string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

type decoder struct {
	file     string
	pos      map[string]*token.Position // path → position of its value (or key)
	bad      map[string]bool            // paths that failed to decode
	problems []*FieldError
	anchors  map[string]ast.Node
	visited  int // values decoded; aliases can make a small file expand exponentially
	more     int // problems beyond maxProblems, counted only

	abortGates []string // gates with abort: true, in order (Scenario.AbortGates)
}

const maxProblems = 200

const maxDecodedValues = 1 << 20

func newDecoder(file string) *decoder {
	return &decoder{file: file, pos: map[string]*token.Position{}, bad: map[string]bool{}, anchors: map[string]ast.Node{}}
}

func (d *decoder) errAt(p *token.Position, path, format string, args ...any) {
	if len(d.problems) >= maxProblems {
		d.more++
		return
	}
	e := &FieldError{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if p != nil {
		e.Line, e.Col = p.Line, p.Column
	}
	d.problems = append(d.problems, e)
}

func (d *decoder) errNode(n ast.Node, path, format string, args ...any) {
	d.bad[path] = true
	d.errAt(nodePos(n), path, format, args...)
}

// problem reports a semantic problem at a path; its position is the path's, or its nearest
// ancestor's when the key is missing. Problems under a path that failed to decode are dropped:
// the decode error already says what is wrong there.
func (d *decoder) problem(path, format string, args ...any) {
	for p := path; ; p = parentPath(p) {
		if d.bad[p] {
			return
		}
		if p == "" {
			break
		}
	}
	var pos *token.Position
	for p := path; ; p = parentPath(p) {
		if q, ok := d.pos[p]; ok {
			pos = q
			break
		}
		if p == "" {
			break
		}
	}
	d.errAt(pos, path, format, args...)
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func nodePos(n ast.Node) *token.Position {
	if n == nil {
		return nil
	}
	if t := n.GetToken(); t != nil {
		return t.Position
	}
	return nil
}

// decodeFile parses data into a document body and decodes it into v (a pointer to a struct).
func (d *decoder) decodeFile(data []byte, v any) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var pos *token.Position
		msg := err.Error()
		if te, ok := err.(interface{ GetToken() *token.Token }); ok && te.GetToken() != nil {
			pos = te.GetToken().Position
		}
		if m, ok := err.(interface{ GetMessage() string }); ok {
			msg = m.GetMessage()
		}
		d.errAt(pos, "", "%s", msg)
		d.bad[""] = true
		return
	}
	if len(f.Docs) == 0 || f.Docs[0] == nil || f.Docs[0].Body == nil {
		d.errAt(nil, "", "the file is empty")
		d.bad[""] = true
		return
	}
	if len(f.Docs) > 1 {
		d.errAt(nodePos(f.Docs[1]), "", "a scenario file holds one YAML document")
	}
	d.decode(f.Docs[0].Body, reflect.ValueOf(v).Elem(), "", 0)
}

func (d *decoder) resolve(n ast.Node, depth int) ast.Node {
	for i := 0; i < 64; i++ {
		switch x := n.(type) {
		case *ast.DocumentNode:
			n = x.Body
		case *ast.AnchorNode:
			if x.Name != nil && x.Name.GetToken() != nil {
				d.anchors[x.Name.GetToken().Value] = x.Value
			}
			n = x.Value
		case *ast.AliasNode:
			if x.Value == nil || x.Value.GetToken() == nil {
				return n
			}
			t, ok := d.anchors[x.Value.GetToken().Value]
			if !ok {
				return n
			}
			n = t
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
	return n
}

// mapping returns the key/value pairs of a mapping node (merge keys expanded), or ok=false.
func (d *decoder) mapping(n ast.Node, depth int) ([]*ast.MappingValueNode, bool) {
	var vals []*ast.MappingValueNode
	switch x := n.(type) {
	case *ast.MappingNode:
		vals = x.Values
	case *ast.MappingValueNode:
		vals = []*ast.MappingValueNode{x}
	default:
		return nil, false
	}
	out := make([]*ast.MappingValueNode, 0, len(vals))
	var merged []*ast.MappingValueNode
	for _, mv := range vals {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok && depth < 16 {
			if m, ok := d.mapping(d.resolve(mv.Value, depth), depth+1); ok {
				merged = append(merged, m...)
			}
			continue
		}
		out = append(out, mv)
	}
	// Explicit keys win over merged ones.
	for _, mv := range merged {
		k := keyText(mv.Key)
		dup := false
		for _, o := range out {
			if keyText(o.Key) == k {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, mv)
		}
	}
	return out, true
}

func keyText(k ast.Node) string {
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		k = mk.Value
	}
	if k == nil || k.GetToken() == nil {
		return ""
	}
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.GetToken().Value
}

// scalar returns the text of a scalar node and whether it is one.
func scalar(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.LiteralNode:
		if x.Value != nil {
			return x.Value.Value, true
		}
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

func kindName(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.AliasNode:
		return "an unknown alias"
	}
	return "a " + n.Type().String()
}

var (
	durationType = reflect.TypeOf(Duration(0))
	usersType    = reflect.TypeOf(Users{})
	thinkType    = reflect.TypeOf(Think{})
)

func (d *decoder) decode(n ast.Node, v reflect.Value, path string, depth int) {
	if depth > 64 {
		d.errNode(n, path, "nested too deeply")
		return
	}
	n = d.resolve(n, depth)
	if d.visited++; d.visited > maxDecodedValues {
		if d.visited == maxDecodedValues+1 {
			d.errNode(n, path, "the file expands to more than %d values (aliases of aliases?)", maxDecodedValues)
		}
		return
	}
	if p := nodePos(n); p != nil {
		if _, ok := d.pos[path]; !ok || path == "" {
			d.pos[path] = p
		}
	}
	if _, ok := n.(*ast.NullNode); ok {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if _, ok := n.(*ast.AliasNode); ok {
		d.errNode(n, path, "unknown alias %s", n.GetToken().Value)
		return
	}
	if d.decodeSpecial(n, v, path, depth) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		d.decode(n, e.Elem(), path, depth+1)
		v.Set(e)
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		d.decodeSlice(n, v, path, depth)
	case reflect.Map:
		d.decodeMap(n, v, path, depth)
	default:
		d.decodeScalar(n, v, path)
	}
}

// decodeSpecial decodes the types with a form of their own (gates, durations, a users count, a
// think time as one duration); false for any other.
func (d *decoder) decodeSpecial(n ast.Node, v reflect.Value, path string, depth int) bool {
	switch v.Type() {
	case gateListType:
		d.decodeGates(n, v, path, depth)
		return true
	case durationType:
		s, ok := scalar(n)
		if !ok {
			d.errNode(n, path, "must be a duration (1h30m, 250ms or seconds), not %s", kindName(n))
			return true
		}
		dur, err := ParseDuration(s)
		if err != nil {
			d.errNode(n, path, "%v", err)
			return true
		}
		v.SetInt(int64(dur))
		return true
	case usersType:
		if s, ok := scalar(n); ok {
			c, err := ParseCount(s)
			if err != nil {
				d.errNode(n, path, "users must be a count (5000000, 5M) or {count, ids, skew}: %v", err)
				return true
			}
			if c <= 0 {
				d.errNode(n, path, "must be > 0")
				return true
			}
			v.Set(reflect.ValueOf(Users{Count: c}))
			return true
		}
	case thinkType:
		if s, ok := scalar(n); ok {
			dur, err := ParseDuration(s)
			if err != nil {
				d.errNode(n, path, "%v", err)
				return true
			}
			v.Set(reflect.ValueOf(Think{Fixed: Duration(dur)}))
			return true
		}
	}
	return false
}

func (d *decoder) decodeSlice(n ast.Node, v reflect.Value, path string, depth int) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		// One value where a list is expected is a list of one: `status: 429`.
		if _, isMap := d.mapping(n, depth); isMap && v.Type().Elem().Kind() != reflect.Struct && v.Type().Elem().Kind() != reflect.Pointer {
			d.errNode(n, path, "must be a list, not %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		d.decode(n, s.Index(0), path+"[0]", depth+1)
		v.Set(s)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, e := range seq.Values {
		d.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n ast.Node, v reflect.Value, path string, depth int) {
	vals, ok := d.mapping(n, depth)
	if !ok {
		d.errNode(n, path, "must be a mapping, not %s", kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(vals))
	seen := map[string]bool{}
	for _, mv := range vals {
		k := keyText(mv.Key)
		kp := joinPath(path, k)
		if seen[k] {
			d.errNode(mv.Key, kp, "duplicate key %q", k)
			continue
		}
		seen[k] = true
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(mv.Value, e, kp, depth+1)
		m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

// decodeScalar decodes a string, a bool or a number.
func (d *decoder) decodeScalar(n ast.Node, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		s, ok := scalar(n)
		if !ok {
			d.errNode(n, path, "must be a string, not %s", kindName(n))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.errNode(n, path, "must be true or false, not %s", kindName(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		s, ok := scalar(n)
		if !ok {
			d.errNode(n, path, "must be a whole number, not %s", kindName(n))
			return
		}
		if _, isBool := n.(*ast.BoolNode); isBool {
			d.errNode(n, path, "must be a whole number, not a boolean")
			return
		}
		c, err := ParseCount(s)
		if err != nil {
			d.errNode(n, path, "%v", err)
			return
		}
		if v.OverflowInt(c) {
			d.errNode(n, path, "%d is too large", c)
			return
		}
		v.SetInt(c)
	case reflect.Float64:
		s, ok := scalar(n)
		if !ok {
			d.errNode(n, path, "must be a number, not %s", kindName(n))
			return
		}
		if _, isBool := n.(*ast.BoolNode); isBool {
			d.errNode(n, path, "must be a number, not a boolean")
			return
		}
		f, err := ParseNumber(s)
		if err != nil {
			d.errNode(n, path, "%v", err)
			return
		}
		v.SetFloat(f)
	default:
		d.errNode(n, path, "cannot hold %s", kindName(n))
	}
}

type fieldInfo struct {
	index int
	name  string
}

func yamlFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, fieldInfo{i, name})
	}
	return out
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string, depth int) {
	vals, ok := d.mapping(n, depth)
	if !ok {
		what := "a mapping"
		if path != "" {
			what = "a mapping of " + strings.Join(knownKeys(v.Type()), ", ")
		}
		d.errNode(n, path, "must be %s, not %s", what, kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for _, mv := range vals {
		k := keyText(mv.Key)
		kp := joinPath(path, k)
		if p := nodePos(mv.Key); p != nil {
			d.pos[kp] = p
		}
		if seen[k] {
			d.errNode(mv.Key, kp, "duplicate key %q", k)
			continue
		}
		seen[k] = true
		idx := -1
		for _, f := range fields {
			if f.name == k {
				idx = f.index
				break
			}
		}
		if idx < 0 {
			d.errNode(mv.Key, kp, "unknown key %q%s", k, suggest(k, knownKeys(v.Type())))
			continue
		}
		d.decode(mv.Value, v.Field(idx), kp, depth+1)
		if p := nodePos(mv.Key); p != nil {
			d.pos[kp] = p // problems point at the key, where a reader looks first
		}
	}
}

func knownKeys(t reflect.Type) []string {
	var ks []string
	for _, f := range yamlFields(t) {
		ks = append(ks, f.name)
	}
	sort.Strings(ks)
	return ks
}

// suggest returns ` (did you mean "x"?)` for a near miss, else the known keys.
func suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if dd := editDistance(k, c); dd < bestD {
			best, bestD = c, dd
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known: " + strings.Join(known, ", ") + ")"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var _ = strconv.Itoa
