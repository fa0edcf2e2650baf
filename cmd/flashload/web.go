package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/flashload/flashload/report/render"
	"github.com/flashload/flashload/report/web"
	"github.com/flashload/flashload/result"
)

// webFlags are --web and --web-token, shared by run, rehearse and watch.
type webFlags struct {
	Addr  string
	Token string
	// Ready, when set, is called with the server once it listens (tests open its page).
	Ready func(*web.Server)
}

func (f *webFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Addr, "web", "", "serve a live page of the run on HOST:PORT (/: the page; /events: its snapshots as server-sent events; /summary.json once finished); loopback unless --web-token")
	fl.StringVar(&f.Token, "web-token", "", "token the page and its stream require (?token=T), needed on an address other than loopback; enables the page's stop button (default $FLASHLOAD_WEB_TOKEN)")
}

// listen starts the live page's server when --web is set (nil, nil otherwise) and says where on
// stderr; a bad address, or one off loopback without a token, is a usage error before any load.
// The caller closes it.
func (f *webFlags) listen(stderr io.Writer) (*web.Server, error) {
	if f.Addr == "" {
		return nil, nil
	}
	if f.Token == "" {
		f.Token = os.Getenv("FLASHLOAD_WEB_TOKEN")
	}
	srv, err := web.Listen(f.Addr, web.Options{Token: f.Token})
	if err != nil {
		return nil, usageErr(err)
	}
	hint := ""
	if f.Token != "" {
		hint = " (open it with ?token=YOUR_TOKEN)"
	}
	fmt.Fprintf(stderr, "web: %s%s\n", srv.URL(), hint)
	if f.Ready != nil {
		f.Ready(srv)
	}
	return srv, nil
}

// finishWeb shows the run directory's result on the live page, when there is a page and the
// directory was written.
func finishWeb(srv *web.Server, dir string, stderr io.Writer) {
	if srv == nil || dir == "" {
		return
	}
	sum, err := result.ReadSummary(filepath.Join(dir, result.SummaryFile))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "flashload: web: %v\n", err)
		}
		return
	}
	report := filepath.Join(dir, render.HTMLFile)
	if _, err := os.Stat(report); err != nil {
		report = ""
	}
	if err := srv.Finish(sum, report); err != nil {
		fmt.Fprintf(stderr, "flashload: web: %v\n", err)
	}
}

// closeWeb ends the live page (after the page has kept the report, at most web.DefaultLinger).
func closeWeb(srv *web.Server) {
	if srv != nil {
		_ = srv.Close()
	}
}
