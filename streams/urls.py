from django.urls import path

from streams import views

urlpatterns = [
    path("", views.dashboard, name="lobby"),
    path("api/slow/", views.slow, name="slow"),
    path("explain/", views.explain, name="explain"),
    path("<str:room>/", views.dashboard, name="room"),
]
