from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from fundboard.widgets.favicon import favicon

urlpatterns = [
    # Whoever opens the bare address is most likely staff setting up: the dashboard (which
    # asks for a login) lists the campaigns and links every widget and embed.
    path("", RedirectView.as_view(pattern_name="dashboard:index", permanent=False)),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("dashboard/", include("fundboard.dashboard.urls")),
    path("dashboard/", include("fundboard.webhooks.urls")),
    path("", include("fundboard.incentives.urls")),  # marathon widgets and staff pages
    path("dashboard/", include("fundboard.fx.urls")),  # exchange rates (issue 15)
    path("", include("fundboard.matching.urls")),  # the sponsor match widget (issue 15)
    path("", include("fundboard.ops.urls")),
    path("", include("fundboard.live.urls")),
    path("", include("fundboard.widgets.urls")),
]
