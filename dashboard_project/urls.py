from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    # Logging in and out only: the rest of django.contrib.auth.urls (password reset by mail)
    # would need an email server the dashboard does not have. Users come from
    # `manage.py createsuperuser` or the admin.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("streams.urls")),
]
