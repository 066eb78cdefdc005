"""RFC 822 -> what Gmail shows: header decoding, snippets, and the writing policy."""

import email.policy
import io
from email.generator import BytesGenerator

import pytest

from gmail_emulator import EmulatedMailbox, corpus, pool
from gmail_emulator.mime import decode_header_value, parse_message, snippet_of
from gmail_emulator.policy import POLICY


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain  two  spaces", "plain  two  spaces"),
        ("=?utf-8?q?caf=C3=A9?= au lait", "café au lait"),
        ("Re: =?utf-8?b?5pel5pys6Kqe?= =?utf-8?b?5pel?= tail", "Re: 日本語日 tail"),
        ("=?iso-8859-1?q?r=E9sum=E9?=\r\n =?iso-8859-1?q?_x?=", "résumé x"),
        ("folded\r\n line", "folded line"),
        ("a =?x-unknown?q?=FF?= b", "a \ufffd b"),
        ("broken =?utf-8?q?abc", "broken =?utf-8?q?abc"),
        ("R\udcc3\udca9union", "Réunion"),
        ("nul\x00kept", "nul\x00kept"),
    ],
)
def test_it_shows_header_values_decoded_and_unfolded(raw, shown):
    assert decode_header_value(raw) == shown


def test_snippets_prefer_plain_text_and_escape_like_gmail():
    assert snippet_of({"text/plain": 'It\'s  <b>\n fine & "ok"'}) == (
        "It&#39;s &lt;b&gt; fine &amp; &quot;ok&quot;"
    )
    assert (
        snippet_of({"text/html": "<style>p{}</style><p>Caf&eacute;</p><script>x()</script>"})
        == "Café"
    )
    assert len(snippet_of({"text/plain": "word " * 100})) == 200


def test_a_single_part_message_has_its_body_at_the_top():
    raw = b"Subject: hi\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"

    parsed = parse_message(raw)

    assert parsed.root.part_id == ""
    assert parsed.root.body == b"hello\r\n"
    assert parsed.root.parts == ()
    assert parsed.snippet == "hello"


def test_the_fast_policy_writes_what_compat32_writes():
    mailbox = EmulatedMailbox("demo@example.com", messages=60, seed=2)
    for kind in pool.BUILDERS:
        for variant in range(3):
            raw, _ = pool.body(2, kind, variant)
            message = email.message_from_bytes(raw)
            stock = io.BytesIO()
            BytesGenerator(
                stock, mangle_from_=False, policy=email.policy.compat32.clone(linesep="\r\n")
            ).flatten(message)
            assert corpus.serialize(message) == stock.getvalue()
    headers = [("Subject", mailbox.get(i).subject) for i in mailbox.message_ids()]
    for name, value in headers:
        assert POLICY.fold_binary(name, value) == email.policy.compat32.clone(
            linesep="\r\n"
        ).fold_binary(name, value)
