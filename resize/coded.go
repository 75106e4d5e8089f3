package resize

import "fmt"

// frameSize is what a codec header says a decoder will make: the picture
// it outputs, and the samples per plane it allocates to get there.
type frameSize struct {
	width, height uint32
	decoded       uint64 // pixels
}

// codedImage gathers what the headers of one coded image item (its codec
// configuration property and its data) say about its decoding.
type codedImage struct {
	frameSize   // zero until a header tells
	sampleBytes int
}

// frame records f, which must agree with every header seen before.
func (c *codedImage) frame(f frameSize) error {
	if c.decoded != 0 && c.frameSize != f {
		return fmt.Errorf("coded headers disagree: %dx%d and %dx%d", c.width, c.height, f.width, f.height)
	}
	c.frameSize = f
	return nil
}
