"""Whether a worker's memory is bounded with large messages: peak RSS of copying them.

A mailbox holds `large` messages of Gmail's largest (one 25 MB file each, chosen by
the emulator's `--large-messages`) among `messages` ordinary ones. The figure is the
peak RSS of `manage.py syncmail --full` copying it, in a fresh process (the sync runs
in it, as in a worker), against the emulator in a process of its own, from `os.wait4`.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from bench.emulator import EmulatorProcess
from bench.environment import child_env
from bench.figures import Figure
from bench.fixtures import mailbox_create, mailbox_delete, stored_count
from bench.memory import syncmail
from syncapp.models import Blob

# Gmail's sending limit: what the emulator's large messages carry.
LARGE_FILE_BYTES = 25_000_000


def large_message_peak_rss(*, messages: int, large: int, log_dir: Path) -> list[Figure]:
    with EmulatorProcess(
        messages=messages,
        seed=14,
        service_ms=0,
        extra=(f"--large-messages={large}",),
        log_dir=log_dir,
    ) as emulator:
        mailbox = mailbox_create(f"bench-large-{messages}")
        try:
            env = child_env(
                GMAIL_API_ENDPOINT=emulator.url, GOOGLE_TOKEN_URI=emulator.url + "token"
            )
            code, peak_kib, output = syncmail(mailbox, env=env, name="large", log_dir=log_dir)
            calls = emulator.request_log().by_method
            stored = stored_count(mailbox)
            large_stored = Blob.objects.filter(size__gt=LARGE_FILE_BYTES).count()
        finally:
            mailbox_delete(mailbox)
    note = (
        f"peak RSS of syncmail --full of {messages} messages, {large} of them with a "
        f"25 MB file ({large_stored} such originals stored; messages.list calls "
        f"{calls.get('messages.list', 0)}, messages.get {calls.get('messages.get', 0)}; "
        f"GMAIL_LARGE_MESSAGE_BYTES {settings.GMAIL_LARGE_MESSAGE_BYTES})"
    )
    valid = code == 0 and stored == messages and large_stored >= large
    if not valid:
        note = f"exited {code}, stored {stored}: {output[-300:]}; {note}"
    return [Figure("large_message_peak_rss_mib", round(peak_kib / 1024), note, valid=valid)]
