package measure

// Memory is what results cost in Redis.
type Memory struct {
	Ints         uint64
	Keys         int
	UsedDelta    int64   // INFO used_memory after the run minus before, the clients' buffers apart
	ClientsDelta int64   // INFO mem_clients_normal after the run minus before: the connections' buffers
	PackedBits   int64   // bytes of the bits fields the run stored
	SampleKeys   int     // result keys measured with MEMORY USAGE
	SampleUse    float64 // their mean MEMORY USAGE, bytes
	SampleBits   float64 // their mean bits field, bytes
}

// PerMillion is the growth of used_memory per 1,000,000 integers.
func (m Memory) PerMillion() float64 { return float64(m.UsedDelta) / float64(m.Ints) * 1e6 }

// ClientsGrowth is ClientsDelta, in bytes.
func (m Memory) ClientsGrowth() float64 { return float64(m.ClientsDelta) }

// KeyOverhead is the mean fixed cost of one result key beyond its bits.
func (m Memory) KeyOverhead() float64 { return m.SampleUse - m.SampleBits }

// Ratio is the growth of used_memory over the packed bits stored.
func (m Memory) Ratio() float64 { return float64(m.UsedDelta) / float64(m.PackedBits) }
