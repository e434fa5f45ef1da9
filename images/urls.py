"""URLs of the image browser and its operations."""

app_name = "images"

urlpatterns = []
