package deploy

import (
	"os"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testproc.Cleanup()
	os.Exit(code)
}
