from django.apps import AppConfig


class SyncappConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "syncapp"
    verbose_name = "Mail sync"

    def ready(self) -> None:
        # Connects the django-q signal that starts each worker's liveness thread.
        from syncapp import tasks  # noqa: F401
