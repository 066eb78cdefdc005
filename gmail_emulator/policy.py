"""The `email` policy generated mail is written with."""

import email.policy

_Compat32 = type(email.policy.compat32)


class _FastCompat32(_Compat32):
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
        return super().fold_binary(name, value)


POLICY = _FastCompat32(linesep="\r\n")
