// Command gen-avatars writes the sample avatars in examples/avatars: small
// abstract portraits in the formats, shapes and quirks the proxy has to
// handle (EXIF orientation, transparency, animation, tiny and grey images).
//
// Usage:
//
//	go run ./examples/gen-avatars [-out DIR]
//
// The output is the same on every run, so the committed files can be checked
// against it.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"log"
	"os"
	"path/filepath"
)

// avatars lists each sample file with the function that encodes it.
var avatars = []struct {
	name   string
	encode func() ([]byte, error)
}{
	{"alice.jpg", alice},
	{"bob.png", bob},
	{"dave.gif", dave},
	{"erin.jpg", erin},
	{"frank.png", frank},
}

func main() {
	out := flag.String("out", filepath.Join("examples", "avatars"), "directory to write the avatars to")
	flag.Parse()
	if err := writeAvatars(*out); err != nil {
		log.Fatal(err)
	}
}

func writeAvatars(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, a := range avatars {
		b, err := a.encode()
		if err != nil {
			return fmt.Errorf("%s: %w", a.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, a.name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// alice is a landscape JPEG whose pixels are stored turned a quarter turn
// anticlockwise, with EXIF Orientation 6 telling viewers to turn it back.
func alice() ([]byte, error) {
	portrait := alicePortrait()
	portrait.addGrain(0.03)
	stored := image.NewNRGBA(image.Rect(0, 0, portrait.height, portrait.width))
	for y := range stored.Rect.Dy() {
		for x := range stored.Rect.Dx() {
			stored.SetNRGBA(x, y, portrait.at(portrait.width-1-y, x))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, stored, &jpeg.Options{Quality: 82}); err != nil {
		return nil, err
	}
	return withOrientation(buf.Bytes(), 6), nil
}

// withOrientation inserts an EXIF segment holding the given Orientation
// right after the start-of-image marker of a JPEG.
func withOrientation(jpg []byte, orientation uint16) []byte {
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

// bob is a portrait PNG, transparent around a round face.
func bob() ([]byte, error) {
	return encodePNG(bobPortrait().image())
}

// dave is a two-frame animated GIF of a robot blinking.
func dave() ([]byte, error) {
	palette := blends(daveNavy, daveSteel, daveScreen, daveRed, daveAmber)
	anim := &gif.GIF{LoopCount: 0}
	for _, f := range []struct {
		blink bool
		delay int // hundredths of a second
	}{{false, 180}, {true, 15}} {
		rgba := daveFrame(f.blink).image()
		frame := image.NewPaletted(rgba.Rect, palette)
		draw.Draw(frame, frame.Rect, rgba, image.Point{}, draw.Src)
		anim.Image = append(anim.Image, frame)
		anim.Delay = append(anim.Delay, f.delay)
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, anim)
	return buf.Bytes(), err
}

// blends is a palette of the given colours and the steps between each pair,
// which is what the antialiased edges between them need.
func blends(colours ...colour) color.Palette {
	var p color.Palette
	add := func(c colour) { p = append(p, opaque(c)) }
	for i, c0 := range colours {
		add(c0)
		for _, c1 := range colours[i+1:] {
			for _, t := range []float64{0.25, 0.5, 0.75} {
				add(mix(c0, c1, t))
			}
		}
	}
	return p
}

func opaque(c colour) color.NRGBA {
	to8 := func(v float64) uint8 { return uint8(v*255 + 0.5) }
	return color.NRGBA{to8(c.r), to8(c.g), to8(c.b), 0xff}
}

// erin is a tiny JPEG.
func erin() ([]byte, error) {
	var buf bytes.Buffer
	err := jpeg.Encode(&buf, erinPortrait().image(), &jpeg.Options{Quality: 92})
	return buf.Bytes(), err
}

// frank is a grayscale PNG.
func frank() ([]byte, error) {
	rgba := frankPortrait().image()
	gray := image.NewGray(rgba.Rect)
	draw.Draw(gray, gray.Rect, rgba, image.Point{}, draw.Src)
	return encodePNG(gray)
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}
