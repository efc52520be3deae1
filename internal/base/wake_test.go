package base_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"bitqueue/internal/base"
)

func TestWakeChannels(t *testing.T) {
	t.Parallel()
	require.Equal(t, "bitqueue:wake", base.WakeChannel(base.DefaultPrefix))
	require.Equal(t, "p:wake:0", base.WakeShardChannel("p", 0))
	require.Equal(t, "p:wake:15", base.WakeShardChannel("p", 15))
}
