package dashboard

import (
	"testing"

	"github.com/flashload/flashload/internal/testenv"
)

// TestMain removes the flashload binary the tests built, if they built one.
func TestMain(m *testing.M) { testenv.Main(m) }
