package scenario

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/flashload/flashload/outcome"
)

// Outcomes lists the outcomes a classify rule may name (outcome.Outcome's names).
var Outcomes = []outcome.Outcome{outcome.Acknowledged, outcome.SoldOut, outcome.Limited,
	outcome.Refused, outcome.Pending, outcome.Shed, outcome.Error, outcome.Unknown}

// Classifier applies a request step's classify rules in order; the first that matches decides.
type Classifier struct {
	rules []rule
}

type rule struct {
	status  []int
	field   []byte // quoted JSON key, "\"result\""; nil: no JSON test
	equals  []byte
	outcome outcome.Outcome
	code    string // by_code's name for it; empty: the outcome's name
}

// NewClassifier compiles rules (validated by Parse).
func NewClassifier(rules []Classify) *Classifier {
	c := &Classifier{}
	for _, r := range rules {
		o, _ := outcome.Parse(r.Outcome)
		cr := rule{status: r.Status, outcome: o, code: r.Code}
		if r.JSON != nil {
			cr.field = strconv.AppendQuote(nil, r.JSON.Field)
			cr.equals = []byte(r.JSON.Equals)
		}
		c.rules = append(c.rules, cr)
	}
	return c
}

// Classify returns the outcome of an answer. With no matching rule: 2xx acknowledged, else
// error. An error on a 5xx is unknown: the service may have done the work. It does not allocate.
func (c *Classifier) Classify(status int, body []byte) outcome.Outcome {
	o, _ := c.ClassifyCode(status, body)
	return o
}

// ClassifyCode is Classify with the answer's name for by_code: the matching rule's code, else
// the outcome's name (sold_out), so the counters say what the rules made of the answer rather
// than whatever the service wrote in its body. It does not allocate.
func (c *Classifier) ClassifyCode(status int, body []byte) (outcome.Outcome, string) {
	o := outcome.Error
	if status >= 200 && status < 300 {
		o = outcome.Acknowledged
	}
	code := ""
	for i := range c.rules {
		r := &c.rules[i]
		if len(r.status) > 0 && !slices.Contains(r.status, status) {
			continue
		}
		if r.field != nil {
			v, ok := JSONField(body, r.field)
			if !ok || !bytes.Equal(v, r.equals) {
				continue
			}
		}
		o, code = r.outcome, r.code
		break
	}
	if o == outcome.Error && status >= 500 {
		o = outcome.Unknown
	}
	if code == "" {
		code = o.String()
	}
	return o, code
}

// JSONField finds a top-level key (quoted, as `"code"`) of a JSON object and returns its value:
// the unquoted contents of a string without escapes, or the raw text of a number, true, false
// or null. Nested values, escaped strings and invalid JSON give ok=false. It does not allocate.
func JSONField(body []byte, quotedKey []byte) (val []byte, ok bool) {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipWS(body, i)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == '}' {
			return nil, false
		}
		if body[i] != '"' {
			return nil, false
		}
		ks := i
		ke, esc := scanString(body, i)
		if ke < 0 {
			return nil, false
		}
		match := !esc && bytes.Equal(body[ks:ke], quotedKey)
		i = skipWS(body, ke)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = skipWS(body, i+1)
		vs := i
		ve, vesc, scalarOK := scanValue(body, i)
		if ve < 0 {
			return nil, false
		}
		if match {
			if !scalarOK || vesc {
				return nil, false
			}
			if body[vs] == '"' {
				return body[vs+1 : ve-1], true
			}
			return body[vs:ve], true
		}
		i = skipWS(body, ve)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == ',' {
			i++
			continue
		}
		return nil, false
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the closing quote of the string at b[i], and whether it
// has escapes; -1 when unterminated.
func scanString(b []byte, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc
		}
	}
	return -1, esc
}

// structural marks the bytes scanValue stops at inside an object or array.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// scanValue returns the end of the JSON value at b[i], whether a string value has escapes,
// and whether the value is a scalar.
func scanValue(b []byte, i int) (end int, esc bool, scalar bool) {
	if i >= len(b) {
		return -1, false, false
	}
	switch b[i] {
	case '"':
		e, esc := scanString(b, i)
		return e, esc, true
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			if !structural[b[j]] {
				continue
			}
			switch b[j] {
			case '"':
				// A string inside: to its closing quote, in line (the hot loop of a capture).
				for j++; j < len(b) && b[j] != '"'; j++ {
					if b[j] == '\\' {
						j++
					}
				}
				if j >= len(b) {
					return -1, false, false
				}
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, false, false
				}
			}
		}
		return -1, false, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1, false, false
	}
	return j, false, true
}
