// Command flashload rehearses e-commerce flash sales: a reference target, a live scenario
// engine, a capacity simulator, reports and CI gates. See README.md and docs/.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes: the contract scripts and CI rely on.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
	exitGate    = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") {
		err = usageErr(err) // cobra has no typed error for it; an unknown command is bad input
	}
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode maps an error to the process exit code; the only place that does.
func exitCode(err error, stderr interface{ Write([]byte) (int, error) }) int {
	if err == nil {
		return exitOK
	}
	var ce *codeError
	code := exitRuntime
	if errors.As(err, &ce) {
		code = ce.code
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintf(stderr, "flashload: %v\n", err)
	}
	return code
}

// codeError attaches an exit code to an error.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// usageErr marks bad input (flags, arguments, invalid files): exit 2.
func usageErr(err error) error {
	if err == nil {
		return nil
	}
	return &codeError{code: exitUsage, err: err}
}

// gateErr marks failed thresholds: exit 3.
func gateErr(err error) error {
	if err == nil {
		return nil
	}
	return &codeError{code: exitGate, err: err}
}

// errSilent is wrapped by errors already reported to the user (exit code only, no message).
var errSilent = errors.New("already reported")
