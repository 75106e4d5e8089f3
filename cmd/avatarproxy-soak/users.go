package main

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/avatarproxy/avatarproxy/internal/hostile"
)

// Kinds of user of the mix besides the origin's.
const (
	missing = "missing" // a kind the origin does not know: 404
	oddKind = "odd"     // one of oddIDs
)

// userKinds are the users of the mix, as ids of the hostile origin: the
// kind, a dash, and a variant below n. The weights make most of them good.
var userKinds = []struct {
	kind   string
	weight int
	n      int // how many users of the kind
}{
	{hostile.GoodJPEG, 25, 30}, {hostile.GoodPNG, 20, 30}, {missing, 8, 10},
	{hostile.Status500, 3, 3}, {hostile.Status502, 3, 3}, {hostile.Status503, 3, 3},
	{hostile.Reset, 3, 3}, {hostile.Drip, 2, 3}, {hostile.HTML, 3, 3}, {hostile.SVG, 3, 3},
	{hostile.Text, 2, 2}, {hostile.Empty, 3, 3}, {hostile.Truncated, 3, 3}, {hostile.Corrupt, 2, 3},
	{hostile.Bomb, 3, 3}, {hostile.Huge, 1, 2}, {hostile.Liar, 2, 3}, {hostile.Frames, 3, 2},
	{hostile.Random, 3, 5}, {oddKind, 2, 4},
	{hostile.AVIFBomb, 2, 2}, {hostile.WebPFrames, 2, 2}, {hostile.PNG16, 2, 2},
	{hostile.GIFCut, 1, 2}, {hostile.WebPCut, 1, 2}, {hostile.AVIFCut, 1, 2},
}

// oddIDs are user ids that need escaping, or that a careless proxy would
// turn into another path, and the longest id accepted (256 bytes).
var oddIDs = []string{"a b", "x/y", ".hidden", strings.Repeat("long", 64), "ünï", "%41"}

// pickUser returns a user id of the mix; odd ones only when odd is set.
func pickUser(rng *rand.Rand, odd bool) string {
	total := 0
	for _, k := range userKinds {
		total += k.weight
	}
	n := rng.IntN(total)
	for _, k := range userKinds {
		if n < k.weight {
			if k.kind == oddKind {
				if !odd {
					return hostile.GoodJPEG + "-0"
				}
				return oddIDs[rng.IntN(len(oddIDs))]
			}
			return fmt.Sprintf("%s-%d", k.kind, rng.IntN(k.n))
		}
		n -= k.weight
	}
	panic("unreachable")
}
