"""API-SSL: a self-signed certificate, or anonymous Diffie-Hellman like a router without one.

The simulator uses only the standard library, so the key, certificate and DH parameters come
from the ``openssl`` command line tool, once per process, in a temporary directory.
"""

import atexit
import functools
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

# What community.routeros's force_no_cert sets on the client; the server mirrors it.
ANONYMOUS_CIPHERS = "ADH:@SECLEVEL=0"


def server_context(anonymous=False):
    """A server context with the self-signed certificate, or, for ``anonymous``, the
    anonymous-DH ciphers a router offers when api-ssl has no certificate (API doc, "Summary")."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if anonymous:
        context.maximum_version = ssl.TLSVersion.TLSv1_2     # TLS 1.3 has no anonymous suites
        context.set_ciphers(ANONYMOUS_CIPHERS)
        context.load_dh_params(_dh_parameters())
    else:
        context.load_cert_chain(*self_signed_certificate())
    return context


def anonymous_client_context():
    """The client side of ``anonymous``: no certificate to verify (``force_no_cert``)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(ANONYMOUS_CIPHERS)
    return context


@functools.lru_cache(maxsize=1)
def _work_directory():
    directory = Path(tempfile.mkdtemp(prefix="routeros-sim-tls-"))
    atexit.register(shutil.rmtree, directory, True)
    return directory


@functools.lru_cache(maxsize=1)
def _dh_parameters():
    """The RFC 7919 ``ffdhe2048`` group (a named group: no slow parameter generation)."""
    path = _work_directory() / "dh.pem"
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH",
                    "-pkeyopt", "dh_param:ffdhe2048", "-out", str(path)],
                   check=True, capture_output=True)
    return str(path)


@functools.lru_cache(maxsize=1)
def self_signed_certificate():
    """Return ``(certificate_path, key_path)`` for CN ``localhost`` with SANs for 127.0.0.1.

    The certificate is its own CA: clients verify it with ``load_verify_locations(certificate)``.
    """
    directory = _work_directory()
    certificate, key = directory / "api-ssl.crt", directory / "api-ssl.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True)
    return str(certificate), str(key)
