package base

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Limits shared by the producer and the worker.
const (
	// MaxBatch is the largest number of integers in one batch.
	MaxBatch = 100_000
	// MaxBatches bounds the batches of one run: their seqs stay below 2^32,
	// the range of a Redis bitmap's offsets (the run's done bitmap is
	// indexed by seq).
	MaxBatches = 1 << 32
	// MaxPayload is the largest payload a worker accepts: a full batch of the
	// widest integers plus its header.
	MaxPayload = 1 + 2*binary.MaxVarintLen64 + MaxRunID + 1 + MaxBatch*8
)

// PayloadVersion is the version byte that starts every batch payload.
const PayloadVersion = 1

// Batch is the payload of a TypeBits task: batch Seq of run RunID, holding
// Nums in input order.
type Batch struct {
	RunID string
	Seq   uint64
	Nums  []uint64
}

// Width is the bit length of b's largest integer, at least 1: the width of
// the bitstrings of b's result, and of its result hash's width field.
func (b Batch) Width() int {
	var largest uint64
	for _, n := range b.Nums {
		largest = max(largest, n)
	}
	return bitLen(largest)
}

// EncodeBatch returns the payload of b:
//
//	version byte (1)
//	uvarint len(run id), run id
//	uvarint seq
//	uvarint count (1..MaxBatch)
//	width byte: bytes per integer (1..8), the fewest that hold the largest
//	count integers, each width bytes big-endian, each at most 2^63-1
//
// The encoding is canonical: one batch has exactly one payload.
func EncodeBatch(b Batch) ([]byte, error) {
	if err := ValidateRunID(b.RunID); err != nil {
		return nil, err
	}
	if len(b.Nums) == 0 || len(b.Nums) > MaxBatch {
		return nil, fmt.Errorf("batch holds %d integers, want 1 to %d", len(b.Nums), MaxBatch)
	}
	var largest uint64
	for _, n := range b.Nums {
		if n > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d is above 2^63-1", n)
		}
		largest = max(largest, n)
	}
	width := byteWidth(largest)
	p := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(b.RunID)+1+len(b.Nums)*width)
	p = append(p, PayloadVersion)
	p = binary.AppendUvarint(p, uint64(len(b.RunID)))
	p = append(p, b.RunID...)
	p = binary.AppendUvarint(p, b.Seq)
	p = binary.AppendUvarint(p, uint64(len(b.Nums)))
	p = append(p, byte(width))
	var buf [8]byte
	for _, n := range b.Nums {
		binary.BigEndian.PutUint64(buf[:], n)
		p = append(p, buf[8-width:]...)
	}
	return p, nil
}

// ErrMalformed is wrapped by every error DecodeBatch returns.
var ErrMalformed = errors.New("malformed batch payload")

// DecodeBatch parses a payload written by EncodeBatch, reusing dst.Nums'
// storage when it is large enough. It checks every claim of the header against
// the bytes present before allocating, so a payload cannot make the decoder
// allocate more than its own size.
func DecodeBatch(dst *Batch, p []byte) error {
	if len(p) > MaxPayload {
		return malformed("payload is %d bytes, above the limit of %d", len(p), MaxPayload)
	}
	if len(p) == 0 {
		return malformed("payload is empty")
	}
	if p[0] != PayloadVersion {
		return malformed("version %d, want %d", p[0], PayloadVersion)
	}
	p = p[1:]
	idLen, p, err := uvarint(p, "run id length")
	if err != nil {
		return err
	}
	if idLen > uint64(len(p)) {
		return malformed("run id length %d exceeds the %d bytes left", idLen, len(p))
	}
	runID := string(p[:idLen])
	if err := ValidateRunID(runID); err != nil {
		return malformed("%v", err)
	}
	p = p[idLen:]
	seq, p, err := uvarint(p, "seq")
	if err != nil {
		return err
	}
	count, p, err := uvarint(p, "count")
	if err != nil {
		return err
	}
	if count == 0 || count > MaxBatch {
		return malformed("count %d, want 1 to %d", count, MaxBatch)
	}
	if len(p) == 0 {
		return malformed("width missing")
	}
	width := int(p[0])
	p = p[1:]
	if width < 1 || width > 8 {
		return malformed("width %d bytes, want 1 to 8", width)
	}
	if uint64(len(p)) != count*uint64(width) {
		return malformed("count %d × width %d needs %d bytes of integers, payload has %d", count, width, count*uint64(width), len(p))
	}
	nums := dst.Nums[:0]
	if cap(nums) < int(count) {
		nums = make([]uint64, 0, count)
	}
	nums = nums[:count]
	var largest uint64
	// While 8 bytes remain from an integer's offset, read them at once and
	// shift the integer's width bytes down; the last few take the slow path.
	shift, i := uint(64-8*width), 0
	for ; i < len(nums) && i*width+8 <= len(p); i++ {
		n := binary.BigEndian.Uint64(p[i*width:]) >> shift
		largest = max(largest, n)
		nums[i] = n
	}
	var buf [8]byte
	for ; i < len(nums); i++ {
		copy(buf[8-width:], p[i*width:(i+1)*width])
		n := binary.BigEndian.Uint64(buf[:])
		largest = max(largest, n)
		nums[i] = n
	}
	if largest > math.MaxInt64 {
		i := slices.IndexFunc(nums, func(n uint64) bool { return n > math.MaxInt64 })
		return malformed("integer %d is %d, above 2^63-1", i, nums[i])
	}
	if byteWidth(largest) != width {
		return malformed("width %d bytes, but the largest integer %d needs %d", width, largest, byteWidth(largest))
	}
	*dst = Batch{RunID: runID, Seq: seq, Nums: nums}
	return nil
}

func uvarint(p []byte, what string) (uint64, []byte, error) {
	v, n := binary.Uvarint(p)
	var minimal [binary.MaxVarintLen64]byte
	if n <= 0 || n != binary.PutUvarint(minimal[:], v) {
		return 0, nil, malformed("%s: truncated or non-minimal varint", what)
	}
	return v, p[n:], nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// byteWidth is the number of bytes needed to hold n, at least 1.
func byteWidth(n uint64) int {
	w := 1
	for n > 0xff {
		n >>= 8
		w++
	}
	return w
}
