from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", include("fundboard.dashboard.urls")),
    path("", include("fundboard.ops.urls")),
    path("", include("fundboard.live.urls")),
    path("", include("fundboard.widgets.urls")),
]
