package resize

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// This file reads the images of a HEIF 'meta' box (ISO/IEC 23008-12): the
// primary item's size from its 'ispe' property, and what every coded image
// item will cost to decode, from the headers of its codec (av1.go,
// hevc.go). libheif decodes what the coded headers say, whatever 'ispe'
// claims, and decodes every tile of a grid, so the size to bound is that
// of the coded images.

const (
	// maxProperties bounds item property indices: 'ipma' stores them in
	// at most 15 bits.
	maxProperties = 1 << 15
	// maxSizingProperties and maxCodedItems bound what metaImages keeps:
	// an image needs a few properties, a grid a few dozen tiles.
	maxSizingProperties = 1024
	maxCodedItems       = 1024
)

// property is an item property that sizes an image: 'ispe', or a codec
// configuration, 'av1C' or 'hvcC', with what it says.
type property struct {
	index         int
	typ           string
	width, height uint32     // of an ispe
	coded         codedImage // of a codec configuration
	lengthSize    int        // of an hvcC: bytes of each NAL unit's length
}

// codedItem is an image item that has a codec configuration: one the
// decoder decodes.
type codedItem struct {
	id     uint32
	config *property
	coded  codedImage
}

// metaImages reads the images of a 'meta' box; src is the whole file,
// where item data lies.
func metaImages(meta, src []byte) (source, error) {
	m, err := readMeta(meta)
	if err != nil {
		return source{}, err
	}
	if m.pitm == nil || m.iprp == nil {
		return source{}, errors.New("no primary item or no item properties")
	}
	primary, err := parsePitm(m.pitm)
	if err != nil {
		return source{}, err
	}

	var ipco []byte
	properties := boxReader{b: m.iprp}
	if b, ok := properties.find("ipco"); ok {
		ipco = b
	}
	if properties.err != nil {
		return source{}, properties.err
	}
	props, err := sizingProperties(ipco)
	if err != nil {
		return source{}, err
	}

	// Property indices are 1-based positions of boxes in 'ipco'; 'ipma'
	// boxes list which of them belong to which item.
	var size *property
	var items []codedItem
	associate := func(item uint32, index int) error {
		i, found := slices.BinarySearchFunc(props, index, func(p property, index int) int { return cmp.Compare(p.index, index) })
		if !found {
			return nil
		}
		p := &props[i]
		switch {
		case p.typ == "ispe":
			if item == primary && size == nil {
				size = p
			}
		case len(items) > 0 && items[len(items)-1].id == item:
			return fmt.Errorf("item %d has two codec configurations", item)
		case len(items) == maxCodedItems:
			return fmt.Errorf("more than %d coded images", maxCodedItems)
		default:
			items = append(items, codedItem{id: item, config: p, coded: p.coded})
		}
		return nil
	}
	associations := boxReader{b: m.iprp}
	for b, ok := associations.next(); ok; b, ok = associations.next() {
		if b.is("ipma") {
			if err := eachAssociation(b.data, associate); err != nil {
				return source{}, err
			}
		}
	}
	if associations.err != nil {
		return source{}, associations.err
	}
	if size == nil {
		return source{}, errors.New("primary item has no size")
	}
	if len(items) == 0 {
		return source{}, errors.New("no coded image")
	}

	slices.SortFunc(items, func(a, b codedItem) int { return cmp.Compare(a.id, b.id) })
	var damage error
	if m.iloc != nil {
		if damage, err = readItemData(items, m.iloc, m.idat, src); err != nil {
			return source{}, err
		}
	}
	s, err := imageCost(primary, size, items)
	if err != nil {
		return source{}, err
	}
	s.damage = damage
	return s, nil
}

// metaBoxes are the children of a 'meta' box that describe its images.
type metaBoxes struct {
	pitm, iprp, iloc, idat []byte
}

func readMeta(meta []byte) (metaBoxes, error) {
	var m metaBoxes
	if len(meta) < 4 {
		return m, errors.New("truncated meta box")
	}
	children := boxReader{b: meta[4:]} // past the full box version and flags
	for b, ok := children.next(); ok; b, ok = children.next() {
		switch {
		case b.is("pitm") && m.pitm == nil:
			m.pitm = b.data
		case b.is("iprp") && m.iprp == nil:
			m.iprp = b.data
		case b.is("iloc") && m.iloc == nil:
			m.iloc = b.data
		case b.is("idat") && m.idat == nil:
			m.idat = b.data
		}
	}
	return m, children.err
}

// readItemData records in items what the headers in their data say. It
// returns as damage the first extent of any item that lies beyond the file
// or the 'idat' box; the walk goes on, since the headers decide whether
// the file is accepted at all.
func readItemData(items []codedItem, iloc, idat, src []byte) (damage, err error) {
	err = itemExtents(iloc, func(id uint32, method byte, offset, length uint64) error {
		within := uint64(len(src))
		if method == inIdat {
			within = uint64(len(idat))
		}
		if damage == nil && (offset > within || length > within-offset) {
			damage = fmt.Errorf("%w: item %d has data at %d..%d of %d bytes", errTruncated, id, offset, offset+length, within)
		}
		i, found := slices.BinarySearchFunc(items, id, func(it codedItem, id uint32) int { return cmp.Compare(it.id, id) })
		if !found {
			return nil
		}
		var data []byte
		switch method {
		case inFile:
			data = extent(src, offset, length)
		case inIdat:
			data = extent(idat, offset, length)
		}
		it := &items[i]
		if it.config.typ == "av1C" {
			return av1SequenceHeaders(data, it.coded.frame)
		}
		return hevcSequenceParameterSets(data, it.config.lengthSize, it.coded.frame)
	})
	return damage, err
}

// imageCost adds up what decoding items costs; inspect holds the sum to at
// least the 'ispe' area. The primary item, if coded itself, must be the
// size its 'ispe' says; if derived (a grid, say), it is made of the others.
func imageCost(primary uint32, size *property, items []codedItem) (source, error) {
	s := source{
		Info:        Info{Width: int(size.width), Height: int(size.height)},
		bands:       4, // RGB, and alpha when the file has an alpha item
		sampleBytes: 1,
	}
	for _, it := range items {
		if it.coded.decoded == 0 {
			return source{}, fmt.Errorf("the coded size of item %d cannot be read", it.id)
		}
		s.pixels = saturatingAdd(s.pixels, it.coded.decoded)
		s.sampleBytes = max(s.sampleBytes, it.coded.sampleBytes)
		if it.id == primary && (it.coded.width != size.width || it.coded.height != size.height) {
			s.malformed = fmt.Errorf("ispe says %dx%d, the coded image is %dx%d", size.width, size.height, it.coded.width, it.coded.height)
		}
	}
	return s, nil
}

// sizingProperties returns the 'ispe', 'av1C' and 'hvcC' boxes of an
// 'ipco' box, in order, with their indices.
func sizingProperties(ipco []byte) ([]property, error) {
	var props []property
	container := boxReader{b: ipco}
	for index := 1; index < maxProperties; index++ {
		b, ok := container.next()
		if !ok {
			break
		}
		p := property{index: index, typ: string(b.typ[:])}
		var err error
		switch p.typ {
		case "ispe":
			p.width, p.height, err = parseIspe(b.data)
		case "av1C":
			p.coded, err = av1Config(b.data)
		case "hvcC":
			p.coded, p.lengthSize, err = hevcConfig(b.data)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(props) == maxSizingProperties {
			return nil, fmt.Errorf("more than %d image size properties", maxSizingProperties)
		}
		props = append(props, p)
	}
	return props, container.err
}

func parsePitm(b []byte) (uint32, error) {
	r := fieldReader{b: b}
	idSize := 2
	if r.uint(1) != 0 { // version
		idSize = 4
	}
	r.uint(3) // flags
	id := r.uint(idSize)
	if r.err != nil {
		return 0, errors.New("malformed pitm box")
	}
	return uint32(id), nil
}

// eachAssociation calls fn with every item and property index an 'ipma'
// box associates.
func eachAssociation(b []byte, fn func(item uint32, index int) error) error {
	malformed := errors.New("malformed ipma box")
	r := fieldReader{b: b}
	version, flags, count := r.uint(1), r.uint(3), r.uint(4)
	idSize, wideIndex := 2, flags&1 != 0
	if version >= 1 {
		idSize = 4
	}
	for range count {
		id := uint32(r.uint(idSize))
		n := r.uint(1)
		indexSize := uint64(1)
		if wideIndex {
			indexSize = 2
		}
		// All of an item's indices are read before fn sees any.
		indices := r.bytes(n * indexSize)
		if r.err != nil {
			return malformed
		}
		for i := range n {
			var index int
			if wideIndex {
				index = int(binary.BigEndian.Uint16(indices[2*i:]) & 0x7fff) // top bit: essential
			} else {
				index = int(indices[i] & 0x7f)
			}
			if err := fn(id, index); err != nil {
				return err
			}
		}
	}
	if r.err != nil {
		return malformed
	}
	return nil
}
