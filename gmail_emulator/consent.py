"""Google's account chooser, as the emulator's authorize endpoint shows it.

Without a `login_hint`, the authorize endpoint answers this page: the accounts
the emulator serves (the default one, then the fleet's and those signed in
since), each a link back to the endpoint with that account as `login_hint`,
which grants it. Another address can be typed (its mailbox is created), and
Cancel goes back to the app with `error=access_denied`, as Google does.
"""

from html import escape
from urllib.parse import urlencode

from .responses import Response

HTML_TYPE = "text/html; charset=utf-8"


def chooser_page(params: dict[str, str], addresses: list[str]) -> Response:
    """The page; `params` are the authorize request's own (one value each)."""
    asked = {name: value for name, value in params.items() if name != "login_hint"}
    accounts = "\n".join(
        f'<li><a class="account" href="?{escape(urlencode({**asked, "login_hint": address}))}">'
        f"{escape(address)}</a></li>"
        for address in addresses
    )
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in asked.items()
    )
    cancel = {"error": "access_denied", **({"state": asked["state"]} if "state" in asked else {})}
    separator = "&" if "?" in asked["redirect_uri"] else "?"
    # An empty icon: a browser asks for none, so the emulator answers no 404 to it.
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Choose an account - Gmail emulator</title>
</head>
<body>
<main>
<h1>Choose an account</h1>
<p>to continue to {escape(asked["client_id"])}. This emulator plays Google: the account you
choose grants the app what it asked for ({escape(asked.get("scope", ""))}).</p>
<ul>
{accounts}
</ul>
<form method="get" action="">
{hidden}
<label>Another address <input type="email" name="login_hint" required></label>
<button type="submit">Use this account</button>
</form>
<p><a href="{escape(asked["redirect_uri"] + separator + urlencode(cancel))}">Cancel</a></p>
</main>
</body>
</html>
"""
    return Response(200, page.encode("utf-8"), (("Content-Type", HTML_TYPE),))
