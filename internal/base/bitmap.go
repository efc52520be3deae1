package base

// Bitmap is a Redis bitmap as GET returns it.
type Bitmap []byte

// Done reports whether bit seq is set.
func (b Bitmap) Done(seq uint64) bool {
	i := seq / 8
	return i < uint64(len(b)) && b[i]&(0x80>>(seq%8)) != 0
}
