"""An incentive or option changed in this process: ingest here reads the tag index afresh
(other processes see it within services.INDEX_TTL_SECONDS)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Incentive, Option
from .services import forget_index


@receiver([post_save, post_delete], sender=Incentive)
@receiver([post_save, post_delete], sender=Option)
def forget_cached_index(sender, **kwargs) -> None:
    forget_index()
