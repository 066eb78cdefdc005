"""The `email` policy generated mail is written with."""

import email.policy


class _FastCompat32(email.policy.Compat32):
    """compat32 with CRLF line endings and a shortcut for headers that need no folding.

    compat32 runs every header through `email.header.Header`, which is most of the
    cost of writing a message; a short printable-ASCII value comes out of it unchanged.
    """

    def fold_binary(self, name: str, value: object) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()
            and len(name) + len(value) + 2 <= 78
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        # compat32 folds a Header value too (typeshed says str only).
        return super().fold_binary(name, value)  # type: ignore[arg-type]


POLICY = _FastCompat32(linesep="\r\n")
