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
	"flag"
	"image"
	"image/color"
	"image/draw"
	"log"
	"os"
	"path/filepath"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// avatars lists each sample file with the function that encodes it.
var avatars = []struct {
	name   string
	encode func() []byte
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
		if err := os.WriteFile(filepath.Join(dir, a.name), a.encode(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// alice is a landscape JPEG whose pixels are stored turned a quarter turn
// anticlockwise, with EXIF Orientation 6 telling viewers to turn it back.
func alice() []byte {
	portrait := alicePortrait()
	portrait.addGrain(0.03)
	stored := image.NewNRGBA(image.Rect(0, 0, portrait.height, portrait.width))
	for y := range stored.Rect.Dy() {
		for x := range stored.Rect.Dx() {
			stored.SetNRGBA(x, y, portrait.at(portrait.width-1-y, x))
		}
	}
	return testimages.WithOrientation(testimages.JPEG(stored, 82), 6)
}

// bob is a portrait PNG, transparent around a round face.
func bob() []byte {
	return testimages.PNG(bobPortrait().image())
}

// dave is a two-frame animated GIF of a robot blinking: open eyes for
// 1.8 s, closed for 0.15 s.
func dave() []byte {
	palette := blends(daveNavy, daveSteel, daveScreen, daveRed, daveAmber)
	return testimages.AnimatedGIF(palette, []int{180, 15}, daveFrame(false).image(), daveFrame(true).image())
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
func erin() []byte {
	return testimages.JPEG(erinPortrait().image(), 92)
}

// frank is a grayscale PNG.
func frank() []byte {
	rgba := frankPortrait().image()
	gray := image.NewGray(rgba.Rect)
	draw.Draw(gray, gray.Rect, rgba, image.Point{}, draw.Src)
	return testimages.PNG(gray)
}
