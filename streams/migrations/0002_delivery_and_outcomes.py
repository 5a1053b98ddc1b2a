from django.db import migrations, models


def done_is_finished(apps, schema_editor):
    """Rows written before outcomes had their own names said "done"."""
    StreamRun = apps.get_model("streams", "StreamRun")
    StreamRun.objects.filter(outcome="done").update(outcome="finished")


def finished_is_done(apps, schema_editor):
    StreamRun = apps.get_model("streams", "StreamRun")
    StreamRun.objects.filter(outcome="finished").update(outcome="done")


class Migration(migrations.Migration):
    dependencies = [("streams", "0001_initial")]

    operations = [
        migrations.RenameField("streamrun", "ticks", "ticks_sent"),
        migrations.AlterField(
            model_name="streamrun",
            name="ticks_sent",
            field=models.PositiveIntegerField(help_text="Ticks the producer sent."),
        ),
        migrations.AddField(
            model_name="streamrun",
            name="ticks_delivered",
            field=models.PositiveIntegerField(
                help_text="Ticks handed to viewers' sockets, summed over the viewers.", null=True
            ),
        ),
        migrations.AddField(
            model_name="streamrun",
            name="ticks_lost",
            field=models.PositiveIntegerField(
                help_text="Sequence gaps the viewers saw, summed over the viewers.", null=True
            ),
        ),
        migrations.AddField(
            model_name="streamrun",
            name="viewers",
            field=models.PositiveIntegerField(
                help_text="Viewers watching when it ended, who reported delivery.", null=True
            ),
        ),
        migrations.AddField(
            model_name="streamrun",
            name="source",
            field=models.CharField(
                blank=True, help_text="Where it was started, when not from a page.", max_length=120
            ),
        ),
        migrations.RunPython(done_is_finished, finished_is_done),
        migrations.AlterField(
            model_name="streamrun",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("finished", "finished"),
                    ("stopped", "stopped"),
                    ("orphaned", "orphaned"),
                    ("failed", "failed"),
                ],
                max_length=8,
            ),
        ),
    ]
