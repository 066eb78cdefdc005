"""The labels every emulated mailbox has, in the shape `labels.list` returns them."""

SYSTEM_LABELS = (
    "INBOX",
    "SENT",
    "DRAFT",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
)
USER_LABELS = {
    "Label_1": "Receipts",
    "Label_2": "Travel",
    "Label_3": "Family",
    "Label_4": "Projects/Émile",
    "Label_5": "日本",
}
ALL_LABELS = frozenset(SYSTEM_LABELS) | frozenset(USER_LABELS)
# messages.list and threads.list leave these out unless includeSpamTrash is set.
SPAM_TRASH = frozenset({"SPAM", "TRASH"})


def label_resources() -> list[dict]:
    """Return `labels.list` entries: system labels first, then user labels."""
    labels: list[dict] = [{"id": i, "name": i, "type": "system"} for i in SYSTEM_LABELS]
    labels.extend(
        {
            "id": label_id,
            "name": name,
            "messageListVisibility": "show",
            "labelListVisibility": "labelShow",
            "type": "user",
        }
        for label_id, name in USER_LABELS.items()
    )
    return labels
