"""URLs of the IAM console, namespace "iam"."""

from accounts.iam import directory_urls, policy_urls

app_name = "iam"

urlpatterns = [*directory_urls.urlpatterns, *policy_urls.urlpatterns]
