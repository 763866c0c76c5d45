"""Search (Pagefind) in a real browser: the place for its tests.

Already covered elsewhere, because /search/ is one of the page types: the search page opens
with no console errors or failed requests, has no horizontal scroll at 375 and 320 px, and
has no axe violations in light and dark mode (test_pages.py); its HTML passes vnu.

To add here (issue 4, item 5), with the fixtures of conftest.py:

    def test_a_word_of_a_quote_finds_its_claim(representatives, browse):
        browsing = browse(width=375)
        visit = browsing.open(representatives["search"])
        ...type a word of a quote into the search box, wait for Pagefind's results...
        ...assert the claim's link is among them and browsing.settle() == []...

and axe on the search page with results and filters shown (Axe().run(visit.page) after the
results appear), in light and dark.
"""
