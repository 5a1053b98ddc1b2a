from django.urls import path

from streams import views

urlpatterns = [
    path("", views.dashboard, name="lobby"),
    path("<str:room>/", views.dashboard, name="room"),
]
