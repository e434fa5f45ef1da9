"""Run the loopback test provider: python tests/oidc_provider/serve.py --port P --state-dir D.

The control token comes from the environment (OIDC_PROVIDER_CONTROL_TOKEN). A new RS256 key is
generated at every start; the tables are created from the models; then it serves until killed.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args()
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    from jwcrypto import jwk

    key = jwk.JWK.generate(kty="RSA", size=2048)
    (state / "rsa.pem").write_bytes(key.export_to_pem(private_key=True, password=None))
    sys.path.insert(0, str(ROOT))
    os.environ["OIDC_PROVIDER_STATE_DIR"] = str(state)
    os.environ["OIDC_PROVIDER_PORT"] = str(args.port)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application

    print(f"test OpenID Connect provider on http://127.0.0.1:{args.port}/o", flush=True)
    run("127.0.0.1", args.port, get_wsgi_application(), threading=True, server_cls=WSGIServer)


if __name__ == "__main__":
    main()
