from django.urls import path

from streams import views

urlpatterns = [
    path("", views.dashboard, name="lobby"),
    path("api/slow/", views.slow, name="slow"),
    path("explain/", views.explain, name="explain"),
    # Without a slash, as Prometheus asks for it; /metrics/ is the room "metrics".
    path("metrics", views.prometheus, name="metrics"),
    path("<str:room>/", views.dashboard, name="room"),
]
