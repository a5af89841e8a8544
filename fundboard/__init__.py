"""Fundboard: a live donation leaderboard. The Celery app loads with Django (usual layout)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
