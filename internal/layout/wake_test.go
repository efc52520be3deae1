package layout_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/layout"
)

func TestWakeChannels(t *testing.T) {
	t.Parallel()
	require.Equal(t, "bitqueue:wake", layout.WakeChannel(layout.DefaultPrefix))
	require.Equal(t, "p:wake:0", layout.WakeShardChannel("p", 0))
	require.Equal(t, "p:wake:15", layout.WakeShardChannel("p", 15))
}
