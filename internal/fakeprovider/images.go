package fakeprovider

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"strings"
	"unicode"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// initials draws a square avatar of the given edge: the initials of name
// on a background chosen by key, as providers render for users without a
// picture.
func initials(key, name string, edge int) []byte {
	sum := sha256.Sum256([]byte(key))
	const small = 20
	canvas := image.NewRGBA(image.Rect(0, 0, small, small))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.RGBA{sum[0] | 0x40, sum[1] | 0x40, sum[2] | 0x40, 0xff}), image.Point{}, draw.Src)
	d := font.Drawer{
		Dst:  canvas,
		Src:  image.White,
		Face: basicfont.Face7x13,
		Dot:  fixed.P(3, 15),
	}
	d.DrawString(initialsOf(name))
	return encodePNG(scale(canvas, edge, edge, draw.NearestNeighbor))
}

// initialsOf returns up to two capital letters from name's words.
func initialsOf(name string) string {
	var b strings.Builder
	for _, word := range strings.Fields(name) {
		r := []rune(word)[0]
		if r > unicode.MaxASCII {
			continue // basicfont draws ASCII only
		}
		b.WriteRune(unicode.ToUpper(r))
		if b.Len() == 2 {
			break
		}
	}
	return b.String()
}

func scale(src image.Image, w, h int, s draw.Scaler) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	s.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return dst
}

func encodeJPEG(img image.Image) []byte { return testimages.JPEG(img, 90) }

func encodePNG(img image.Image) []byte { return testimages.PNG(img) }

// decodeImage decodes a JPEG or PNG and names its format; anything else is
// an error, as the providers accept only these for avatars.
func decodeImage(b []byte) (image.Image, string, error) {
	if _, err := imageConfig(b); err != nil {
		return nil, "", err
	}
	return image.Decode(bytes.NewReader(b))
}

// imageConfig reads a JPEG or PNG's header: its size and format.
func imageConfig(b []byte) (imageHeader, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return imageHeader{}, err
	}
	if format != "jpeg" && format != "png" {
		return imageHeader{}, fmt.Errorf("%s is not a JPEG or PNG", format)
	}
	return imageHeader{Config: cfg, format: format}, nil
}

type imageHeader struct {
	image.Config
	format string
}
