package testimages

import "encoding/binary"

// WithOrientation returns jpg with an EXIF segment holding the given
// Orientation (1..8) inserted right after its start-of-image marker, as
// cameras write it.
func WithOrientation(jpg []byte, orientation uint16) []byte {
	be := binary.BigEndian
	tiff := []byte("MM") // big-endian
	tiff = be.AppendUint16(tiff, 42)
	tiff = be.AppendUint32(tiff, 8) // IFD0 follows this header
	tiff = be.AppendUint16(tiff, 1) // with one entry:
	tiff = be.AppendUint16(tiff, 0x0112)
	tiff = be.AppendUint16(tiff, 3) // SHORT,
	tiff = be.AppendUint32(tiff, 1) // one of them, held in the entry
	tiff = be.AppendUint16(tiff, orientation)
	tiff = be.AppendUint16(tiff, 0)
	tiff = be.AppendUint32(tiff, 0) // and no next IFD

	payload := append([]byte("Exif\x00\x00"), tiff...)
	segment := []byte{0xff, 0xe1}
	segment = be.AppendUint16(segment, uint16(2+len(payload)))
	segment = append(segment, payload...)

	out := append([]byte{}, jpg[:2]...)
	out = append(out, segment...)
	return append(out, jpg[2:]...)
}
