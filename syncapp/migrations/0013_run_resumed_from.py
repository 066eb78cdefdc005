from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_resumed_from(apps, schema_editor):
    """Existing retries started where the run they continue had got."""
    SyncRun = apps.get_model("syncapp", "SyncRun")
    continued = SyncRun.objects.filter(pk=OuterRef("retry_of_id")).values("processed")[:1]
    SyncRun.objects.filter(retry_of__isnull=False).update(resumed_from=Subquery(continued))


class Migration(migrations.Migration):
    dependencies = [
        ("syncapp", "0012_worker_processes_plural"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="resumed_from",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(fill_resumed_from, migrations.RunPython.noop),
    ]
