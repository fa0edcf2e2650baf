package main

import (
	"github.com/spf13/cobra"
)

// commands holds the constructors of the subcommands; each command's file adds itself in init,
// so commands can be developed in separate files without touching this one.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "flashload",
		Short:         "Capacity rehearsals for e-commerce flash sales",
		Long:          "flashload rehearses a Double-Eleven peak: a reference flash-sale target, a live open-model\nload engine with an audit of oversold, lost and duplicate orders, a capacity simulator, reports and CI gates.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	for _, c := range commands {
		cmd := c()
		wrapArgs(cmd)
		root.AddCommand(cmd)
	}
	return root
}

// wrapArgs makes argument-count errors usage errors (exit 2), recursively.
func wrapArgs(cmd *cobra.Command) {
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error { return usageErr(args(c, a)) }
	}
	for _, sub := range cmd.Commands() {
		wrapArgs(sub)
	}
}
