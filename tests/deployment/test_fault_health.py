"""/healthz names the part that is down: the upload folder too (make faulttest takes it away)."""


def test_health_says_the_upload_folder_is_down_and_stays_in_the_proxy(client, db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    assert client.get("/healthz").json()["storage"] == "ok"
    (tmp_path / "media" / "images").rmdir()
    (tmp_path / "media" / "images").write_text("a file where the folder was")
    health = client.get("/healthz")
    assert health.status_code == 200  # only uploads stop: the server keeps its place behind the proxy
    assert health.json() == {**health.json(), "status": "degraded", "database": "ok",
                             "storage": "down: FileExistsError"}
