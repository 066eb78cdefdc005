"""The app's URLs plus a trivial view behind the same login, to compare the poll with."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

TRIVIAL_PATH = "/bench/trivial/"


@login_required
def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path(TRIVIAL_PATH.strip("/") + "/", trivial, name="bench-trivial"),
    path("", include("mailsync.urls")),
]
