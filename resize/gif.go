package resize

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// gifLayout is what a GIF's block structure says, read without decoding.
type gifLayout struct {
	// width and height are the logical screen grown to hold every frame
	// its image descriptors place on it: libvips grows it so, and a GIF
	// claiming 1x1 pixels can decode to 65535x65535.
	width, height int
	frames        int
	// damage says where the structure fails to reach the trailer, every
	// block complete; nil for a whole file.
	damage error
}

// walkGIF walks the blocks of a GIF from its logical screen descriptor to
// its trailer: extensions and image descriptors with their colour tables
// and data sub-blocks. It stops at the first damage.
func walkGIF(src []byte) gifLayout {
	const (
		header     = 13 // signature, version, logical screen descriptor
		extension  = 0x21
		descriptor = 0x2C
		trailer    = 0x3B
	)
	// colourTable returns the length of the colour table that flags say
	// follows.
	colourTable := func(flags byte) int {
		if flags&0x80 == 0 {
			return 0
		}
		return 3 << (flags&7 + 1)
	}
	// subBlocks returns the position after a sequence of data sub-blocks
	// starting at p, or -1 if src ends before its terminator.
	subBlocks := func(p int) int {
		for p < len(src) {
			n := int(src[p])
			p += 1 + n
			if n == 0 {
				return p
			}
		}
		return -1
	}

	var g gifLayout
	if len(src) < header {
		g.damage = errTruncated
		return g
	}
	g.width, g.height = int(binary.LittleEndian.Uint16(src[6:])), int(binary.LittleEndian.Uint16(src[8:]))
	p := header + colourTable(src[10])
	for p < len(src) {
		switch src[p] {
		case extension:
			p = subBlocks(p + 2) // past the introducer and label
		case descriptor:
			if p+10 > len(src) {
				g.damage = errTruncated
				return g
			}
			g.frames++
			left, top := int(binary.LittleEndian.Uint16(src[p+1:])), int(binary.LittleEndian.Uint16(src[p+3:]))
			width, height := int(binary.LittleEndian.Uint16(src[p+5:])), int(binary.LittleEndian.Uint16(src[p+7:]))
			g.width, g.height = max(g.width, left+width), max(g.height, top+height)
			p = subBlocks(p + 10 + colourTable(src[p+9]) + 1) // past the LZW minimum code size
		case trailer:
			if g.frames == 0 {
				g.damage = errors.New("has no image")
			}
			return g
		default:
			g.damage = fmt.Errorf("has an unknown block 0x%02X at byte %d", src[p], p)
			return g
		}
		if p < 0 {
			break
		}
	}
	g.damage = errTruncated
	return g
}
