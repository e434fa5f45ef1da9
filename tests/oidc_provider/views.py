"""The test provider's control address: register (or update) a client of the console."""

import hmac
import json

from django.conf import settings
from django.http import HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import Application


@csrf_exempt
@require_POST
def register_client(request):
    if not hmac.compare_digest(request.headers.get("X-Control-Token", ""), settings.CONTROL_TOKEN):
        return HttpResponseForbidden("wrong control token")
    data = json.loads(request.body)
    Application.objects.filter(client_id=data["client_id"]).delete()
    Application.objects.create(
        name=data["client_id"], client_id=data["client_id"], client_secret=data["client_secret"],
        client_type=Application.CLIENT_PUBLIC if data.get("public") else Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(data["redirect_uris"]), algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    return JsonResponse({"ok": True})
