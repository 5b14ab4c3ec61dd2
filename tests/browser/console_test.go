package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oof-gg/platform/tests/harness"
)

// screenshot saves the page as name.png in the artifacts folder.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(artifactsDir(t), name+".png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// timelineRow is one replayed event as the console's timeline shows it.
type timelineRow struct {
	Topic   string `json:"topic"`
	Offset  string `json:"offset"`
	Type    string `json:"type"`
	At      string `json:"at"`
	Summary string `json:"summary"`
}

// The operator console, served by the admin listener alone: an admin signs
// in over gRPC-Web, re-drives a dead letter, finds a finished match by its
// game, opens it and plays its replay; the timeline shows the match's
// events in the order ReplayMatch streams them. Screenshots of each step.
func TestBrowserConsole(t *testing.T) {
	chromium := chromiumPath(t)
	in, err := harness.InfraFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env, err := harness.Start(ctx, in) // default CORS: the page calls its own origin
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	admin := signUp(t, ctx, env, "admin")
	match := playMatch(t, ctx, env, admin)
	dead := deadLetter(t, ctx, env)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	page, cancelPage := chromedp.NewContext(actx)
	defer cancelPage()
	// Start the browser on the page's own context: a step's timeout
	// context must not own (and close) the tab.
	if err := chromedp.Do(page); err != nil {
		t.Fatal(err)
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(page, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			msg, _ := chromedp.Run(page, chromedp.Evaluate[string](`document.getElementById('message').textContent`))
			screenshot(t, page, "console-failed")
			t.Fatalf("%s: %v (page says %q)", name, err, msg)
		}
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	step("open the console",
		chromedp.Navigate("http://"+env.AdminAddr+"/console"),
		chromedp.WaitVisible(css("#login-form")))
	screenshot(t, page, "console-sign-in")
	player := signUp(t, ctx, env, "player")
	step("sign in as a player",
		chromedp.SendKeys(css("#login-username"), player.name),
		chromedp.SendKeys(css("#login-password"), consolePassword),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css(`#message[data-state="error"]`)))
	refused, err := chromedp.Run(page, chromedp.TextContent(css("#message")))
	if err != nil || !strings.Contains(refused, "not an admin") {
		t.Fatalf("a player's sign-in: page says %q, %v", refused, err)
	}
	if _, err := chromedp.Run(page, chromedp.Evaluate[bool](`document.getElementById('login-username').value = ''; true`)); err != nil {
		t.Fatal(err)
	}
	step("sign in",

		chromedp.SendKeys(css("#login-username"), admin.name),
		chromedp.SendKeys(css("#login-password"), consolePassword),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#view-status")),
		chromedp.WaitVisible(css("#lag-table tbody tr")))
	row := fmt.Sprintf(`#dl-table tr[data-id="%d"]`, dead)
	step("re-drive the dead letter",
		chromedp.WaitVisible(css(row+` button.dl-retry`)))
	screenshot(t, page, "console-status")
	step("re-drive the dead letter",
		chromedp.Click(css(row+` button.dl-retry`)),
		chromedp.WaitNotPresent(css(row)))
	result, err := chromedp.Run(page, chromedp.TextContent(css("#dl-result")))
	if err != nil || !strings.Contains(result, fmt.Sprintf("dead letter %d: redriven", dead)) {
		t.Fatalf("re-drive result %q, %v", result, err)
	}
	var status string
	if err := env.Pool.QueryRow(ctx, `SELECT status FROM projector_dead_letters WHERE id = $1`, dead).Scan(&status); err != nil || status != "redriven" {
		t.Fatalf("dead letter %d after the console's retry: %q, %v", dead, status, err)
	}

	matchRow := fmt.Sprintf(`#match-table tr[data-session="%s"]`, match.sessionID)
	step("search the match history by game",
		chromedp.Click(css("#nav-matches")),
		chromedp.WaitVisible(css("#view-matches")),
		chromedp.SendKeys(css("#f-game"), match.gameID),
		chromedp.Click(css("#match-search-submit")),
		chromedp.WaitVisible(css(matchRow)))
	screenshot(t, page, "console-matches")
	step("open the match",
		chromedp.Click(css(matchRow)),
		chromedp.WaitVisible(css("#view-match")),
		chromedp.WaitVisible(css("#m-details dd")))
	step("play the replay at 2×",
		chromedp.SetValue(css("#replay-speed"), "2"),
		chromedp.Click(css("#replay-play")),
		chromedp.WaitVisible(css(`#replay-state[data-state="done"], #replay-state[data-state="error"]`)))
	screenshot(t, page, "console-replay")

	state, err := chromedp.Run(page, chromedp.TextContent(css("#replay-state")))
	if err != nil || !strings.HasPrefix(state, "done") {
		t.Fatalf("replay: %q, %v", state, err)
	}
	rows, err := chromedp.Run(page, chromedp.Evaluate[[]timelineRow](`[...document.querySelectorAll('#timeline li')].map(li => ({
		topic: li.dataset.topic, offset: li.dataset.offset, type: li.dataset.type, at: li.querySelector('.at').textContent,
		summary: li.querySelector('summary').textContent}))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(match.events) {
		t.Fatalf("timeline has %d events, ReplayMatch streams %d: %+v", len(rows), len(match.events), rows)
	}
	for i, want := range match.events {
		got := rows[i]
		if got.Topic != want.GetTopic() || got.Offset != fmt.Sprint(want.GetOffset()) || got.Type != want.GetType() {
			t.Errorf("timeline[%d] = %+v, want %s@%d %s", i, got, want.GetTopic(), want.GetOffset(), want.GetType())
		}
	}
	// The lifecycle frames the live events (created first, finished
	// last), and the players' moves show in the order they were played.
	if rows[0].Type != "oof.events.v1.SessionCreated" || rows[len(rows)-1].Type != "oof.events.v1.SessionUpdated" {
		t.Errorf("timeline from %s to %s", rows[0].Type, rows[len(rows)-1].Type)
	}
	var moves []string
	for _, r := range rows {
		for i := 1; i <= 4; i++ {
			if name := fmt.Sprintf("move-%d", i); strings.HasPrefix(r.Summary, name+" · ") {
				moves = append(moves, name)
			}
		}
	}
	if strings.Join(moves, ",") != "move-1,move-2,move-3,move-4" {
		t.Errorf("moves on the timeline: %v", moves)
	}
	// At 2× the events arrive over half the match's span: the page reads
	// the stream as it comes (a buffered answer would show them at once).
	span := match.events[len(match.events)-1].GetTime().AsTime().Sub(match.events[0].GetTime().AsTime())
	elapsed, err := chromedp.Run(page, chromedp.Evaluate[string](`document.getElementById('replay-state').dataset.elapsedMs`))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := strconv.Atoi(elapsed)
	if err != nil || time.Duration(ms)*time.Millisecond < span*4/10 {
		t.Errorf("the replay took %s ms in the page for a %v match at 2×: want at least %v", elapsed, span, span*4/10)
	}
	t.Logf("timeline: %d events over %v, played in %s ms at 2×", len(rows), span, elapsed)
}
