package feed

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// parseMessage reads a feed message. Flashload's target writes a flat object of plain strings
// and integers, which scanFlat reads without reflection; anything else (escapes, nesting,
// other numbers) goes through encoding/json. Besides the time, scanFlat keeps an idle
// subscriber's goroutine stack small: a reflective decode on the reading goroutine grows
// its stack, and a parked goroutine keeps what it grew.
func parseMessage(raw []byte, m *Message) bool {
	if scanFlat(raw, m) {
		return true
	}
	*m = Message{}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(raw, m) != nil {
		*m = Message{}
		return false
	}
	return true
}

// scanFlat reads {"k":"v"|int,...} with no escapes, no spaces outside strings (only around
// separators, as json.Marshal never writes them anyway) and no nesting; false for anything
// else, leaving m partly filled.
func scanFlat(b []byte, m *Message) bool {
	*m = Message{}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	b = b[1 : len(b)-1]
	seen := 0
	for len(b) > 0 {
		key, rest, ok := str(b)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		rest = rest[1:]
		var sv []byte
		var iv int64
		isStr := len(rest) > 0 && rest[0] == '"'
		if isStr {
			if sv, rest, ok = str(rest); !ok {
				return false
			}
		} else {
			end := bytes.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			n, err := strconv.ParseInt(string(rest[:end]), 10, 64)
			if err != nil || end > 1 && rest[0] == '0' || end > 2 && rest[0] == '-' && rest[1] == '0' {
				return false // JSON numbers have no leading zeros; other forms go to encoding/json
			}
			iv, rest = n, rest[end:]
		}
		var bit int
		switch string(key) {
		case "sku", "state":
			if !isStr {
				return false
			}
			if key[1] == 'k' {
				m.SKU, bit = string(sv), 1
			} else {
				m.State, bit = string(sv), 2
			}
		case "available", "seq", "sent_at_ns":
			if isStr {
				return false
			}
			switch key[1] {
			case 'v':
				m.Available, bit = iv, 4
			case 'e':
				if key[2] == 'q' {
					m.Seq, bit = iv, 8
				} else {
					m.SentAtNs, bit = iv, 16
				}
			}
		default:
			return false // another field: encoding/json decides what it means
		}
		if seen&bit != 0 {
			return false // a repeated key: encoding/json's rule (the last wins) applies
		}
		seen |= bit
		if len(rest) > 0 {
			if rest[0] != ',' || len(rest) == 1 {
				return false
			}
			rest = rest[1:]
		}
		b = rest
	}
	return true
}

// str reads a JSON string without escapes or control bytes at the start of b.
func str(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], b[i+1:], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, nil, false
		}
	}
	return nil, nil, false
}
