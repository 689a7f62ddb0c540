"""An HTTPS endpoint whose certificate the client does not trust (a company proxy re-signing
traffic): the real runwayml SDK meets a real TLS handshake. The failure is permanent, named, and
says how to trust a CA; with SSL_CERT_FILE pointing at the CA the same endpoint is reached."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shotline.core.generate.providers.base import GenerationRequest, ShotKind
from shotline.core.generate.providers.http import ApiClient, RemoteError
from shotline.core.generate.providers.runway import RunwayProvider

# A self-signed certificate for 127.0.0.1 (P-256, valid a century), made for this test only.
KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRSD9rTG1HPU7bJnk
DGYwMzTuQ6hp2US3dc45Q/wx/DqhRANCAAR/+EYdmYrpG15iZVuEvujY7u/rc0G3
3H30yhqLAouyYXlOjDTautthLb43CvSlCH0FEMYrXk5ElCZUgWjVaGjt
-----END PRIVATE KEY-----
"""
CERT = """-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUQtWO3AuwjN3fa31ttNE6ZL3jQwEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwMjA0NDM1OFoYDzIxMjYxMTA4
MDQ0MzU4WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAR/+EYdmYrpG15iZVuEvujY7u/rc0G33H30yhqLAouyYXlOjDTautth
Lb43CvSlCH0FEMYrXk5ElCZUgWjVaGjto2QwYjAdBgNVHQ4EFgQUZLZJzzuAGMXf
FaKWh2MWHV9KpL8wHwYDVR0jBBgwFoAUZLZJzzuAGMXfFaKWh2MWHV9KpL8wDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IQDBMALqu85fwG7PfLUfZMA1DkDfl1+nKaUU2YpLfF/JKgIgI86ddIsf4IvykxtB
EhskRcLjPVD7Gjc56O1QdCstXjc=
-----END CERTIFICATE-----
"""


class TlsServer:
    """Accepts TLS connections; a request that gets through is answered 401 (a refused key)."""

    def __init__(self, folder: Path) -> None:
        (folder / "key.pem").write_text(KEY)
        (folder / "cert.pem").write_text(CERT)
        self.cert = folder / "cert.pem"
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(self.cert, folder / "key.pem")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    head, _, body_seen = data.partition(b"\r\n\r\n")
                    length = next(
                        (
                            int(line.split(b":", 1)[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        ),
                        0,
                    )
                    while len(body_seen) < length:  # read the whole request: closing on unread
                        chunk = tls.recv(4096)  # bytes resets the connection under the client
                        if not chunk:
                            break
                        body_seen += chunk
                    if data:
                        self.requests += 1
                        body = b'{"error": "invalid API key"}'
                        tls.sendall(
                            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                            + body
                        )
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path)
    yield server
    server.close()


def _request() -> GenerationRequest:
    return GenerationRequest(
        shot_id="s1",
        take=1,
        kind=ShotKind.TEXT_TO_VIDEO,
        prompt="a harbour",
        model="gen4.5",
        duration=5,
        ratio="1280:720",
    )


def test_an_untrusted_certificate_is_permanent_and_named(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_" + "0" * 32)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    provider = RunwayProvider(base_url=tls_server.url, poll_interval=0)
    with pytest.raises(RemoteError) as info:
        provider.submit(_request())
    err = info.value
    assert not err.retryable and not err.maybe_created
    assert "certificate not trusted" in str(err) and "SSL_CERT_FILE" in str(err)
    assert tls_server.connections == 1 and tls_server.requests == 0  # tried once, never retried
    # the generic client (Sora, Luma, Kling, Pika) says the same
    api = ApiClient("luma", tls_server.url, auth=lambda: {})
    with pytest.raises(RemoteError, match="certificate not trusted.*SSL_CERT_FILE") as info:
        api.request("GET", "/x")
    assert not info.value.retryable and tls_server.connections == 2


def test_ssl_cert_file_trusts_the_ca(tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_" + "0" * 32)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.cert))
    provider = RunwayProvider(base_url=tls_server.url, poll_interval=0)
    with pytest.raises(RemoteError, match="HTTP 401.*check RUNWAYML_API_SECRET") as info:  # through TLS
        provider.submit(_request())
    assert not info.value.retryable and tls_server.requests == 1
