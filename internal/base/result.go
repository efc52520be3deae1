package base

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
)

// Fields of the Redis hash that holds a batch's result, and the version this
// code writes. They are a public contract: see "Result hash" in
// docs/contracts.md.
const (
	FieldVersion  = "v"
	FieldCount    = "count"
	FieldWidth    = "width"
	FieldBits     = "bits"
	ResultVersion = 1
)

// Result is the packed bit array of one batch: Count rows of Width bits each,
// row i holding integer i most significant bit first at bit offset i·Width of
// Bits (bit 0 is the most significant bit of byte 0), the last byte
// zero-padded.
type Result struct {
	Count int
	Width int
	Bits  []byte
}

// Row returns row i: the integer at position i of the batch.
func (r Result) Row(i int) uint64 {
	var v uint64
	off := i * r.Width
	for left := r.Width; left > 0; {
		b := r.Bits[off/8]
		shift := off % 8
		take := min(8-shift, left)
		v = v<<take | uint64(b>>(8-shift-take))&(1<<take-1)
		off += take
		left -= take
	}
	return v
}

// Bitstring returns row i as '0' and '1' with its leading zeros dropped,
// keeping at least one digit: strconv.FormatInt of integer i, base 2.
func (r Result) Bitstring(i int) string { return strconv.FormatUint(r.Row(i), 2) }

// ErrBadResult is wrapped by every error ParseResult returns.
var ErrBadResult = errors.New("bad result hash")

// ParseResult reads a result hash as returned by HGETALL, checking every field
// against the contract.
func ParseResult(h map[string]string) (Result, error) {
	if len(h) != 4 {
		return Result{}, fmt.Errorf("%w: %d fields, want v, count, width and bits", ErrBadResult, len(h))
	}
	if v := h[FieldVersion]; v != strconv.Itoa(ResultVersion) {
		return Result{}, fmt.Errorf("%w: version %q, want %d", ErrBadResult, v, ResultVersion)
	}
	count, err := strconv.Atoi(h[FieldCount])
	if err != nil || count < 1 || count > MaxBatch || h[FieldCount] != strconv.Itoa(count) {
		return Result{}, fmt.Errorf("%w: count %q, want 1 to %d", ErrBadResult, h[FieldCount], MaxBatch)
	}
	width, err := strconv.Atoi(h[FieldWidth])
	if err != nil || width < 1 || width > 63 || h[FieldWidth] != strconv.Itoa(width) {
		return Result{}, fmt.Errorf("%w: width %q, want 1 to 63", ErrBadResult, h[FieldWidth])
	}
	bits, ok := h[FieldBits]
	if want := (count*width + 7) / 8; !ok || len(bits) != want {
		return Result{}, fmt.Errorf("%w: bits is %d bytes, count %d × width %d needs %d", ErrBadResult, len(bits), count, width, want)
	}
	r := Result{Count: count, Width: width, Bits: []byte(bits)}
	if pad := count * width % 8; pad != 0 && r.Bits[len(r.Bits)-1]&(1<<(8-pad)-1) != 0 {
		return Result{}, fmt.Errorf("%w: padding bits of the last byte are not zero", ErrBadResult)
	}
	var largest uint64
	for i := range count {
		largest = max(largest, r.Row(i))
	}
	if bitLen(largest) != width {
		return Result{}, fmt.Errorf("%w: width %d, but the largest row needs %d bits", ErrBadResult, width, bitLen(largest))
	}
	return r, nil
}

// bitLen is the number of bits of n's binary form, at least 1.
func bitLen(n uint64) int { return max(bits.Len64(n), 1) }
