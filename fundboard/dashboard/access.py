"""Who may open what: staff only, each view needs one of the dashboard's permissions."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

__all__ = ["staff_permission_required", "can", "is_dashboard_user", "PERMISSION_FLAGS"]

# Template/JS flags: what the signed-in user may do on a campaign's dashboard.
PERMISSION_FLAGS = {
    "moderate": "dashboard.moderate_donations",
    "operate_sources": "dashboard.operate_sources",
    "manual": "dashboard.manage_manual_donations",
    "test_alerts": "dashboard.send_test_alerts",
    "export": "dashboard.export_donations",
    "embeds": "dashboard.build_embeds",
    "admin_sources": "campaigns.change_source",
}


def is_dashboard_user(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("dashboard.view_dashboard")
    )


def can(user) -> dict[str, bool]:
    return {flag: user.has_perm(permission) for flag, permission in PERMISSION_FLAGS.items()}


def staff_permission_required(*permissions: str):
    """Anonymous or non-staff: to the (admin) login page. Staff without the permission: 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff):
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not user.has_perms(("dashboard.view_dashboard", *permissions)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
