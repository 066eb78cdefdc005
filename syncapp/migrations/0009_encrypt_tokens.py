"""Mailbox tokens encrypted at rest: existing rows are encrypted, then the fields change."""

from django.db import migrations

import syncapp.fields
from syncapp.fields import decrypt_text, encrypt_text


def _rewrite(apps, convert):
    # The historical model still has plain TextFields here: values are read and
    # written exactly as stored.
    Mailbox = apps.get_model("syncapp", "Mailbox")
    for mailbox in Mailbox.objects.exclude(access_token="", refresh_token="").iterator():
        Mailbox.objects.filter(pk=mailbox.pk).update(
            access_token=convert(mailbox.access_token),
            refresh_token=convert(mailbox.refresh_token),
        )


def encrypt_tokens(apps, schema_editor):
    _rewrite(apps, encrypt_text)


def decrypt_tokens(apps, schema_editor):
    _rewrite(apps, decrypt_text)


class Migration(migrations.Migration):
    dependencies = [
        ("syncapp", "0008_run_and_worker_queues"),
    ]

    operations = [
        migrations.RunPython(encrypt_tokens, decrypt_tokens, elidable=False),
        migrations.AlterField(
            model_name="mailbox",
            name="access_token",
            field=syncapp.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="mailbox",
            name="refresh_token",
            field=syncapp.fields.EncryptedTextField(blank=True),
        ),
    ]
