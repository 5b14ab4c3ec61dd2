package headers

// Score additions (docs/scores.md).
const (
	// NextCursor answers the cursor of the next page where the contract's
	// StandardResponse has no pagination (GetLeaderboard, GetPlayerScores);
	// absent on the last page.
	NextCursor = "x-oof-next-cursor"
	// AroundPlayer asks GetLeaderboard for the page with this player in
	// its middle instead of the top (a cursor then is not allowed).
	AroundPlayer = "x-oof-around-player"
)
