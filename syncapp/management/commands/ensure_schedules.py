"""Create or update mailsync's periodic jobs in django-q2 (idempotent)."""

from django.core.management.base import BaseCommand

from syncapp.queue import schedules_ensure


class Command(BaseCommand):
    help = "Create or update the schedules: reaper, periodic sync, pruning."

    def handle(self, *args, **options) -> None:
        for name in schedules_ensure():
            self.stdout.write(f"schedule ready: {name}")
