package measure

// Memory is what results cost in Redis.
type Memory struct {
	Ints       uint64
	Keys       int
	Freed      int64   // INFO used_memory freed by deleting the run's results and done marks, the clients' buffers apart
	Clients    int64   // INFO mem_clients_normal at the end of the run: every connection's buffers
	PackedBits int64   // bytes of the bits fields the run stored
	SampleKeys int     // result keys measured with MEMORY USAGE
	SampleUse  float64 // their mean MEMORY USAGE, bytes
	SampleBits float64 // their mean bits field, bytes
}

// PerMillion is what the results of 1,000,000 integers hold of used_memory.
func (m Memory) PerMillion() float64 { return float64(m.Freed) / float64(m.Ints) * 1e6 }

// ClientsBytes is Clients, in bytes.
func (m Memory) ClientsBytes() float64 { return float64(m.Clients) }

// KeyOverhead is the mean fixed cost of one result key beyond its bits.
func (m Memory) KeyOverhead() float64 { return m.SampleUse - m.SampleBits }

// Ratio is what the results hold of used_memory over their packed bits.
func (m Memory) Ratio() float64 { return float64(m.Freed) / float64(m.PackedBits) }
