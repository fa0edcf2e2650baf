package scenario

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Template is a compiled request template: literal text and variables, rendered by appending to
// a []byte with no allocation. Variables:
//
//	{{user}}        the arrival's user id
//	{{sku}}         the step's SKU
//	{{key}}         the attempt's idempotency key
//	{{seq}}         the arrival's sequence number in the whole schedule
//	{{order}}       the order id of the journey's last purchase
//	{{group}}       the group id of the journey's join_group
//	{{rand.int}}    a random non-negative integer from the run's seed
//	{{user.COLUMN}} a column of the user's row in data.users
//	{{NAME}}        a value an earlier step of the journey captured (capture: ... as: NAME)
type Template struct {
	src   string
	parts []tmplPart
}

type tmplPart struct {
	lit string
	v   tmplVar
	col int // tvColumn: column index in the data table; tvCapture: the journey's slot
}

type tmplVar uint8

const (
	tvLit tmplVar = iota
	tvUser
	tvSKU
	tvKey
	tvSeq
	tvOrder
	tvGroup
	tvRandInt
	tvColumn
	tvCapture
)

var tmplNames = map[string]tmplVar{
	"user": tvUser, "sku": tvSKU, "key": tvKey, "seq": tvSeq, "order": tvOrder, "group": tvGroup, "rand.int": tvRandInt,
}

// Vars are the values a template is rendered with. Byte slices are not retained.
type Vars struct {
	User  int64
	SKU   string
	Key   []byte
	Seq   int64
	Order string
	Group string
	Rand  uint64   // the value of {{rand.int}}
	Row   []string // the user's row of data.users (UserRow), for {{user.COLUMN}}
	Caps  [][]byte // the journey's captured values by slot, for {{NAME}}
}

// Slots resolves a capture's name in a template to the journey's slot for it. An error says
// why the name cannot be used there (captured only by a later step); ErrNoSuchCapture that
// nothing captures it.
type Slots func(name string) (int, error)

// ErrNoSuchCapture is a Slots answer: no capture of the journey (nor one kept per user) has
// this name.
var ErrNoSuchCapture = errors.New("no capture has this name")

// CompileTemplate compiles s; table gives the columns {{user.COLUMN}} may name (nil: none).
func CompileTemplate(s string, table *Table) (*Template, error) {
	return CompileTemplateSlots(s, table, nil)
}

// CompileTemplateSlots compiles s as a request step's template: slots resolves the names of the
// journey's captures (nil: none may be used).
func CompileTemplateSlots(s string, table *Table, slots Slots) (*Template, error) {
	t := &Template{src: s}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, tmplPart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{lit: rest[:i]})
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template %q: unclosed {{", s)
		}
		name := strings.TrimSpace(rest[i+2 : i+j])
		rest = rest[i+j+2:]
		if v, ok := tmplNames[name]; ok {
			t.parts = append(t.parts, tmplPart{v: v})
			continue
		}
		if col, ok := strings.CutPrefix(name, "user."); ok {
			if table == nil {
				return nil, fmt.Errorf("template %q: {{%s}} needs a data file (data: {users: users.csv})", s, name)
			}
			c := table.Column(col)
			if c < 0 {
				return nil, fmt.Errorf("template %q: data.users has no column %q (columns: %s)", s, col, strings.Join(table.Columns, ", "))
			}
			t.parts = append(t.parts, tmplPart{v: tvColumn, col: c})
			continue
		}
		if slots != nil {
			slot, err := slots(name)
			if err == nil {
				t.parts = append(t.parts, tmplPart{v: tvCapture, col: slot})
				continue
			}
			if !errors.Is(err, ErrNoSuchCapture) {
				return nil, fmt.Errorf("template %q: {{%s}}: %w", s, name, err)
			}
		}
		return nil, fmt.Errorf("template %q: unknown variable {{%s}} (known: user, sku, key, seq, order, group, rand.int, user.COLUMN, vars.NAME, and the names earlier steps capture)", s, name)
	}
	return t, nil
}

// String is the template's source.
func (t *Template) String() string { return t.src }

// Uses reports whether the template reads variable name ("order", "group", "user.token", ...).
func (t *Template) Uses(name string) bool {
	v, ok := tmplNames[name]
	for _, p := range t.parts {
		if ok && p.v == v || !ok && p.v == tvColumn && strings.HasPrefix(name, "user.") {
			return true
		}
	}
	return false
}

// CaptureSlots appends the journey slots the template reads to dst.
func (t *Template) CaptureSlots(dst []int) []int {
	for _, p := range t.parts {
		if p.v == tvCapture {
			dst = append(dst, p.col)
		}
	}
	return dst
}

// Static reports whether the template has no variables (render it once).
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.v != tvLit {
			return false
		}
	}
	return true
}

// Append renders the template onto dst.
func (t *Template) Append(dst []byte, v *Vars) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		switch p.v {
		case tvLit:
			dst = append(dst, p.lit...)
		case tvUser:
			dst = strconv.AppendInt(dst, v.User, 10)
		case tvSKU:
			dst = append(dst, v.SKU...)
		case tvKey:
			dst = append(dst, v.Key...)
		case tvSeq:
			dst = strconv.AppendInt(dst, v.Seq, 10)
		case tvOrder:
			dst = append(dst, v.Order...)
		case tvGroup:
			dst = append(dst, v.Group...)
		case tvRandInt:
			dst = strconv.AppendUint(dst, v.Rand>>1, 10)
		case tvColumn:
			if p.col < len(v.Row) {
				dst = append(dst, v.Row[p.col]...)
			}
		case tvCapture:
			if p.col < len(v.Caps) {
				dst = append(dst, v.Caps[p.col]...)
			}
		}
	}
	return dst
}

// UserRow returns the row of data.users for a user id (ids are 1-based; rows cycle), or nil.
func (s *Scenario) UserRow(user int64) []string {
	t := s.UserTable
	if t == nil || len(t.Rows) == 0 {
		return nil
	}
	i := (user - 1) % int64(len(t.Rows))
	if i < 0 {
		i += int64(len(t.Rows))
	}
	return t.Rows[i]
}
