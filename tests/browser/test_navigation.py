"""Reading paths in a real browser: claim → "Show in the archived text" → the source page
scrolled to the passage, visibly marked; every cited passage reachable by its address; the
skip link shown on focus and taking keyboard users into the main content."""

from __future__ import annotations

import pytest

from .harness import describe, pages_by_type, page_url

PASSAGE_LINKS = "main a[href*='#passage-']"

# Where the passage `id` is, whether its start is on screen, and how it (and every part of a
# passage split around other passages) looks.
PASSAGE_STATE = """(id) => {
  const el = document.getElementById(id);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  const parts = [el, ...document.querySelectorAll(`[data-passage="${CSS.escape(id)}"]`)];
  const look = node => {
    const s = getComputedStyle(node);
    return [s.backgroundColor, s.color, s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join(' | ');
  };
  return {
    tag: el.tagName.toLowerCase(),
    target: el.matches(':target'),
    onScreen: r.top >= 0 && r.top < innerHeight && r.bottom > 0,
    top: Math.round(r.top), viewport: innerHeight,
    visible: el.checkVisibility({opacityProperty: true, visibilityProperty: true}),
    looks: [...new Set(parts)].map(look),
  };
}"""

ON_SCREEN = """(id) => {
  const el = document.getElementById(id);
  if (!el) return false;
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.top < innerHeight && r.bottom > 0;
}"""

NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)))"


def check_marked_passage(page, anchor: str) -> list[str]:
    """The page shows passage `anchor` scrolled into view and marked unlike its untargeted
    self. Returns what is wrong."""
    try:
        page.wait_for_function(ON_SCREEN, arg=anchor, timeout=3000)  # smooth scrolling allowed
    except Exception:
        pass  # reported below with the numbers
    page.evaluate(NEXT_FRAME)  # hashchange handlers (passages.js) have run
    state = page.evaluate(PASSAGE_STATE, anchor)
    if state is None:
        return [f"#{anchor}: no element with this id"]
    problems = []
    if state["tag"] != "mark":
        problems.append(f"#{anchor} is a <{state['tag']}>, not a <mark>")
    if not state["target"]:
        problems.append(f"#{anchor} does not match :target")
    if not state["visible"]:
        problems.append(f"#{anchor} is not visible")
    if not state["onScreen"]:
        problems.append(f"#{anchor} not scrolled into view: top {state['top']}px "
                        f"in a {state['viewport']}px viewport")
    marked = state["looks"]
    page.evaluate("location.hash = 'main'")  # the same passage, no longer the target
    page.evaluate(NEXT_FRAME)
    plain = page.evaluate(PASSAGE_STATE, anchor)["looks"]
    for n, (on, off) in enumerate(zip(marked, plain)):
        if on == off:
            problems.append(f"#{anchor}{f' (part {n + 1})' if n else ''} looks the same targeted "
                            f"and untargeted: {on}")
    return problems


@pytest.mark.parametrize("width", [375, 1280], ids=["phone", "desktop"])
def test_claim_passage_links_scroll_to_a_marked_passage(width, representatives, browse):
    """Every passage link on the richest claim page (its own passages and its
    counterclaims'), clicked, lands on the source with the passage on screen and marked."""
    browsing = browse(width=width, height=740)
    claim = representatives["claim"]
    visit = browsing.open(claim)
    hrefs = visit.page.eval_on_selector_all(PASSAGE_LINKS, "links => links.map(a => a.getAttribute('href'))")
    assert hrefs, f"{claim}: no links to a passage in the archived text"
    problems = []
    for n, href in enumerate(dict.fromkeys(hrefs)):
        if n:
            browsing.open(claim)
        link = visit.page.locator(f"{PASSAGE_LINKS}[href='{href}']").first
        link.click()
        anchor = href.split("#", 1)[1]
        visit.page.wait_for_url(f"**/sources/**#{anchor}")
        problems += [f"{href}: {p}" for p in check_marked_passage(visit.page, anchor)]
        problems += [f"{href}: {p}" for p in browsing.settle()]
    assert not problems, f"from {claim} at {width}px:\n{describe(problems)}"


def test_every_cited_passage_is_marked_at_its_address(site_dir, browse):
    """Every passage anchor on every source page, reached by address at phone width."""
    browsing = browse(width=375, height=740)
    problems, seen = [], 0
    for path in pages_by_type(site_dir)["source"]:
        visit = browsing.open(path)
        assert not visit.problems, f"{path}:\n{describe(visit.problems)}"
        anchors = visit.page.eval_on_selector_all("mark[id^='passage-']", "marks => marks.map(m => m.id)")
        for anchor in anchors:
            visit.page.goto(page_url(browsing.server, path) + "#" + anchor)  # same document
            problems += [f"{path}#{anchor}: {p}" for p in check_marked_passage(visit.page, anchor)]
        seen += len(anchors)
        problems += [f"{path}: {p}" for p in browsing.settle()]
    assert seen, "no cited passages on any source page"
    assert not problems, "\n" + describe(problems)


SKIP_LINK_STATE = """() => {
  const el = document.activeElement;
  const r = el.getBoundingClientRect();
  return {
    href: el.getAttribute('href'),
    inViewport: r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 &&
                r.bottom <= innerHeight && r.right <= innerWidth,
    visible: el.checkVisibility({opacityProperty: true, visibilityProperty: true}),
    text: el.textContent.trim(),
  };
}"""


@pytest.mark.parametrize("width", [375, 1280], ids=["phone", "desktop"])
@pytest.mark.parametrize("page_kind", ["home", "claim"])
def test_skip_link_shows_on_focus_and_moves_focus_to_main(page_kind, width, representatives, browse):
    browsing = browse(width=width, height=740)
    visit = browsing.open(representatives[page_kind])
    page = visit.page
    skip = page.locator("a[href='#main']").first
    box = skip.bounding_box()
    assert box is None or box["y"] + box["height"] <= 0 or box["width"] <= 1, \
        f"the skip link is on screen before it has focus: {box}"

    page.keyboard.press("Tab")
    state = page.evaluate(SKIP_LINK_STATE)
    assert state["href"] == "#main", f"the first Tab stop is not the skip link: {state}"
    assert state["visible"] and state["inViewport"] and state["text"], \
        f"the focused skip link is not visible: {state}"

    page.keyboard.press("Enter")
    page.wait_for_url("**#main")
    assert page.evaluate("document.querySelector('main').matches(':target')")
    page.keyboard.press("Tab")
    inside = page.evaluate("""() => {
      const el = document.activeElement;
      return {inMain: !!el.closest('main'), what: el.outerHTML.slice(0, 120)};
    }""")
    assert inside["inMain"], f"after the skip link, Tab goes to {inside['what']}, outside <main>"
