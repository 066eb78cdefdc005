"""Signing in with Google, and connecting a Gmail account to a user as a Mailbox.

The backend is social-core's `google-oauth2` with its endpoints and client taken
from our GOOGLE_* settings at request time (so tests and the demo can point them
at the emulator), asking for read-only Gmail access offline, with consent, so
that Google sends a refresh token. The pipeline step `mailbox_connect` turns the
tokens into a Mailbox the sync can use.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from social_core.backends.google import GoogleOAuth2
from social_core.exceptions import AuthAssociationError

from syncapp.gmail.client import SCOPE as GMAIL_READONLY
from syncapp.mailboxes import mailbox_disconnect
from syncapp.models import Mailbox
from syncapp.watches import mailboxes_stop_watches, mailboxes_watch_soon

logger = logging.getLogger(__name__)


def google_sign_in_configured() -> bool:
    """Whether to offer "Sign in with Google": only with a client id and secret."""
    return bool(settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET)


class GoogleGmailOAuth2(GoogleOAuth2):
    """Google sign-in that also grants read-only access to the user's Gmail."""

    name = "google-oauth2"
    DEFAULT_SCOPE = ["openid", "email", "profile", GMAIL_READONLY]

    def authorization_url(self) -> str:
        return settings.GOOGLE_AUTHORIZATION_URL

    def access_token_url(self) -> str:
        return settings.GOOGLE_TOKEN_URI

    def get_key_and_secret(self) -> tuple[str, str]:
        return settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET

    def auth_extra_arguments(self) -> dict[str, str]:
        # Offline access with consent every time: Google sends a refresh token only
        # then, and a reconnect must replace a revoked one.
        arguments = {"access_type": "offline", "prompt": "consent"}
        # "Reconnect" names the account, so Google preselects it.
        login_hint = self.data.get("login_hint")
        if login_hint:
            arguments["login_hint"] = login_hint
        return arguments

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        response = self.get_json(
            settings.GOOGLE_USERINFO_URL, headers={"Authorization": f"Bearer {access_token}"}
        )
        self.validate_email_verified(response)
        return response


class MailboxOfAnotherUser(AuthAssociationError):
    """The Google account is another user's mailbox here: it is not attached to anyone else."""

    def __init__(self, backend: Any, email: str) -> None:
        super().__init__(backend)
        self.email = email

    def __str__(self) -> str:
        return (
            f"{self.email} is connected to another Mailsync account, so it was not "
            "connected to yours: sign in as that account to use it."
        )


def mailbox_owner_check(
    *, backend: Any, details: dict, uid: str, user: Any = None, **_: Any
) -> dict[str, Any] | None:
    """Before social-core's `social_user` in SOCIAL_AUTH_PIPELINE: who a Google account
    belongs to here.

    Signed in, a person may connect an address that no other user has (as a mailbox
    or as a Google sign-in); else MailboxOfAnotherUser. Signing in with an address
    that is already one user's mailbox (say the demo's, or a fleet user's) signs in
    as that user, instead of creating a second user with a second copy of its mail.
    """
    if backend.name != GoogleGmailOAuth2.name:
        return None
    email = details["email"]
    owners = set(Mailbox.objects.filter(email__iexact=email).values_list("owner_id", flat=True))
    social = backend.strategy.storage.user.get_social_auth(backend.name, uid)
    if social is not None:
        owners.add(social.user_id)
    if user is not None:
        if owners - {user.pk}:
            raise MailboxOfAnotherUser(backend, email)
        return None
    if social is not None:
        return None  # social_user signs in its user
    if len(owners) > 1:
        raise MailboxOfAnotherUser(backend, email)
    if owners:
        return {"user": get_user_model().objects.get(pk=owners.pop())}
    return None


@sensitive_variables("response")
def mailbox_connect(
    *,
    strategy: Any,
    backend: Any,
    user: Any,
    response: dict[str, Any],
    details: dict,
    social: Any = None,
    **_: Any,
) -> None:
    """Create or update the user's Mailbox for this Google account, with its tokens.

    Runs last in SOCIAL_AUTH_PIPELINE, for a first sign-in, a sign-in of a known
    user and a signed-in user connecting another account alike. Reconnecting
    clears `needs_reconnect`; Google leaves out the refresh token when it sends
    none, and then the one we have is kept.
    """
    if backend.name != GoogleGmailOAuth2.name or user is None:
        return
    email = details["email"]
    granted = response.get("scope", GMAIL_READONLY).split()
    fields: dict[str, Any] = {"access_token": response.get("access_token", "")}
    if response.get("expires_in"):
        fields["token_expires_at"] = timezone.now() + timedelta(
            seconds=int(response["expires_in"])
        )
    if response.get("refresh_token"):
        fields["refresh_token"] = response["refresh_token"]
    # On Google's consent screen a user may untick Gmail access: the mailbox then
    # stays (or becomes) one to reconnect.
    fields["needs_reconnect"] = GMAIL_READONLY not in granted
    mailbox = Mailbox.objects.filter(owner=user, email__iexact=email).first()
    if mailbox is None:
        mailbox = Mailbox.objects.create(owner=user, email=email, **fields)
        logger.info("user %s connected mailbox %s", user.pk, mailbox.pk)
        said = f"Connected {email}"
    else:
        Mailbox.objects.filter(pk=mailbox.pk).update(**fields)
        logger.info("user %s reconnected mailbox %s", user.pk, mailbox.pk)
        said = (
            f"Reconnected {email}" if mailbox.needs_reconnect else f"{email} is already connected"
        )
    if not fields["needs_reconnect"]:
        mailboxes_watch_soon(mailbox_ids=[mailbox.pk])
    if social is not None and social.extra_data.get("email") != email:
        # Which mailbox this Google account is, for a disconnect (its uid is Google's `sub`).
        social.extra_data = {"email": email}
        social.save(update_fields=["extra_data"])
    if fields["needs_reconnect"]:
        messages.warning(
            strategy.request,
            f"Mailsync needs read access to the Gmail of {email}: connect it again and allow it.",
        )
    else:
        messages.success(strategy.request, said)


def mailbox_forget_tokens(*, backend: Any, user: Any, entries: list[Any], **_: Any) -> None:
    """In SOCIAL_AUTH_DISCONNECT_PIPELINE: the disconnected accounts' mailboxes lose
    their tokens (and cannot sync until connected again); their mail stays."""
    if backend.name != GoogleGmailOAuth2.name or user is None:
        return
    for entry in entries:
        # mailbox_connect keeps the address; an older association's uid may be it.
        email = (entry.extra_data or {}).get("email") or entry.uid
        if "@" in email:
            mailboxes_stop_watches(owner_id=user.pk, email=email)
            mailbox_disconnect(owner_id=user.pk, email=email)
        else:
            logger.warning("user %s disconnected an account of unknown address", user.pk)
