"""Strict readers for settings that come from the environment.

A typo in the environment must stop the app at start-up, not surface as odd
behaviour hours later, so every helper raises on a value it cannot read.
"""

import os


class EnvError(ValueError):
    pass


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value == "True":
        return True
    if value == "False":
        return False
    raise EnvError(f"{name} must be True or False, not {value!r}")


def envint(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise EnvError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise EnvError(f"{name} must be at least {minimum}, not {number}")
    return number


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]
