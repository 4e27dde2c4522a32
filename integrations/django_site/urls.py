"""URLs of the reference project."""

from __future__ import annotations

from django.urls import path

from integrations.django_site import views

urlpatterns = [
    path("public", views.public),
    path("me", views.me),
    path("me/async", views.me_async),
    path("hello", views.hello),
    path("orders", views.OrdersView.as_view()),
    path("orders/async", views.AsyncOrdersView.as_view()),
    path("orders/async-fn", views.orders_async),
    path("orders/new", views.OrderWriteView.as_view()),
    path("audit", views.audit),
    path("orders/cancel", views.cancel),
    path("refunds", views.refund),
    path("support", views.SupportView.as_view()),
    path("api/me", views.ApiMeView.as_view()),
    path("api/orders", views.ApiOrdersView.as_view()),
    path("api/refunds", views.ApiRefundsView.as_view()),
]
