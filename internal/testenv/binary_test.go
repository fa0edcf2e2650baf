package testenv

import "testing"

func TestDockerBuildCommand(t *testing.T) {
	for _, tc := range []struct {
		file, want string
		ok         bool
	}{
		{"FROM x\n  RUN CGO_ENABLED=0 go build -trimpath -o /out/flashload ./cmd/flashload\n", "CGO_ENABLED=0 go build -trimpath -o /out/flashload ./cmd/flashload", true},
		{"FROM x\nRUN go build -o /out/flashload ./cmd/flashload\n", "", false},
		{"RUN CGO_ENABLED=0 go build -o /bin/flashload ./cmd/flashload\n", "", false},
	} {
		got, err := DockerBuildCommand(tc.file)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("%q: %q, %v; want %q (ok %v)", tc.file, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzDockerBuildCommand: any Dockerfile gives a command that writes /out/flashload, or an error.
func FuzzDockerBuildCommand(f *testing.F) {
	f.Add("RUN CGO_ENABLED=0 go build -o /out/flashload ./cmd/flashload\n")
	f.Add("RUN CGO_ENABLED=0 go build ")
	f.Fuzz(func(t *testing.T, s string) {
		cmd, err := DockerBuildCommand(s)
		if err == nil && len(cmd) < len("CGO_ENABLED=0 go build  -o /out/flashload ") {
			t.Fatalf("%q: command %q", s, cmd)
		}
	})
}
