from django.apps import AppConfig
from django.db.backends.signals import connection_created

from syncapp.allocator import mmap_threshold_pin


class SyncappConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "syncapp"
    verbose_name = "Mail sync"

    def ready(self) -> None:
        # Connects the django-q signal that starts each worker's liveness thread.
        from syncapp import tasks  # noqa: F401
        from syncapp.mailfilters import sqlite_functions_register

        connection_created.connect(sqlite_functions_register, dispatch_uid="mailsync-sqlite")
        # Every process (a worker's, the web's, a command's): large messages' buffers
        # are given back when freed.
        mmap_threshold_pin()
