package feed

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxEventBytes bounds one server-sent event's data: a feed that sends more is broken (or not
// a feed), and a subscriber must not grow without bound reading it.
const MaxEventBytes = 1 << 20

// errEventTooLarge is next's error for an event over MaxEventBytes.
var errEventTooLarge = errors.New("feed: server-sent event larger than 1 MiB")

// sseReader splits a text/event-stream into events (the HTML Living Standard's rules): lines
// end in LF, CR LF or CR; "field: value" with one optional space after the colon; a line
// starting with ':' is a comment; data lines join with "\n"; a blank line dispatches an event
// that has data. id and retry are read past (a subscriber here never resumes).
type sseReader struct {
	r      *bufio.Reader
	data   []byte
	event  []byte
	has    bool // a data field was seen
	lastCR bool // the previous line ended in CR: a following LF is part of that ending
	lb     []byte
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{r: bufio.NewReaderSize(r, 1024)} }

// next returns the next event's type and data (a fresh slice).
func (s *sseReader) next() (event string, data []byte, err error) {
	for {
		line, err := s.line()
		if err != nil {
			return "", nil, err
		}
		if len(line) == 0 {
			if !s.has {
				s.event = s.event[:0]
				continue
			}
			data = bytes.Clone(s.data)
			event = string(s.event)
			s.data, s.event, s.has = s.data[:0], s.event[:0], false
			return event, data, nil
		}
		if line[0] == ':' {
			continue
		}
		name, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "data":
			if s.has {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > MaxEventBytes {
				return "", nil, errEventTooLarge
			}
			s.data = append(s.data, value...)
			s.has = true
		case "event":
			s.event = append(s.event[:0], value...)
		}
	}
}

// line reads one line without its ending (valid until the next call).
func (s *sseReader) line() ([]byte, error) {
	buf := s.lb[:0]
	defer func() { s.lb = buf[:0] }()
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF // a feed cut mid-line
			}
			return nil, err
		}
		if s.lastCR {
			s.lastCR = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return buf, nil
		case '\r':
			s.lastCR = true
			return buf, nil
		}
		if len(buf) >= MaxEventBytes {
			return nil, errEventTooLarge
		}
		buf = append(buf, b)
	}
}
