"""URLs of the IAM console (users, groups, policies, simulator, audit)."""

app_name = "iam"

urlpatterns = []
