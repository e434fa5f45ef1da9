"""URLs of the IAM console, namespace "iam"."""

from accounts.iam import access_requests, config_urls, directory_urls, policy_urls

app_name = "iam"

urlpatterns = [*directory_urls.urlpatterns, *policy_urls.urlpatterns, *config_urls.urlpatterns,
               *access_requests.urlpatterns]
