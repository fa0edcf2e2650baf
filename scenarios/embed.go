// Package scenarios holds the bundled scenario files, embedded so the binary carries them.
// scenario.Load reads them by name; `flashload scenarios list` shows them.
package scenarios

import "embed"

// FS holds the bundled scenario files (NAME.yaml) and the data files they name.
//
//go:embed *.yaml
var FS embed.FS
