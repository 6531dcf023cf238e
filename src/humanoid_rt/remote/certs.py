"""A test certificate authority and per-node certificates for Zenoh mTLS, made with the `openssl` CLI.

    python -m humanoid_rt.remote.certs DIR --robot robot-1 --operator op-alice ...
    humanoid-rt zenoh-certs DIR --router router --robot robot-1 --operator op-alice

writes DIR/ca.pem (+ ca.key) and DIR/<name>.pem + DIR/<name>.key per node (EC P-256, X.509 v3,
client and server use). Zenoh's access control matches a node by its certificate's common name
(`cert_common_names` subjects in firmware_interfaces/zenoh/router.json5), so the name given here is
what the router's ACL names. For a real fleet use your own CA; this one is for labs and tests.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])}: {result.stderr.strip()[-500:]}")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"certificate name: {name!r}; allowed: 1-64 letters, digits, '-', '_', '.'")
    return name


def make_ca(directory: str | Path, name: str = "humanoid_rt lab CA", days: int = 365) -> tuple[Path, Path]:
    """Writes ca.pem and ca.key in `directory` (kept if both exist). Returns (certificate, key)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "ca.pem", directory / "ca.key"
    if cert.exists() and key.exists():
        return cert, key
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    key.chmod(0o600)
    _openssl("req", "-x509", "-new", "-key", str(key), "-out", str(cert), "-days", str(days), "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_certificate(directory: str | Path, common_name: str, *, hosts: tuple[str, ...] = (), days: int = 365,
                     ca: tuple[Path, Path] | None = None) -> tuple[Path, Path]:
    """Writes <common_name>.pem and .key signed by the CA in `directory`. Returns (certificate, key).

    hosts: DNS names or IP addresses to put in subjectAltName (a router's addresses, if clients verify them).
    """
    directory = Path(directory)
    _check_name(common_name)
    ca_cert, ca_key = ca or make_ca(directory)
    cert, key = directory / f"{common_name}.pem", directory / f"{common_name}.key"
    alt = [f"DNS:{common_name}"] + [(f"IP:{h}" if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:]*", h)
                                     else f"DNS:{h}") for h in hosts]
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    key.chmod(0o600)
    with tempfile.TemporaryDirectory() as tmp:
        csr, ext = Path(tmp) / "node.csr", Path(tmp) / "node.ext"
        ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                       "extendedKeyUsage=serverAuth,clientAuth\n"
                       f"subjectAltName={','.join(alt)}\n")
        _openssl("req", "-new", "-key", str(key), "-out", str(csr), "-subj", f"/CN={common_name}")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
                 "-out", str(cert), "-days", str(days), "-extfile", str(ext), "-sha256")
    return cert, key


def add_command(commands) -> None:
    p = commands.add_parser("zenoh-certs", help="make a lab CA and mTLS certificates for a router, robots and operators",
                            description=__doc__.split("\n\n")[1])
    _arguments(p)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", type=Path)
    p.add_argument("--router", action="append", default=[], metavar="NAME[@HOST,...]",
                   help="router certificate; HOSTs go into subjectAltName")
    p.add_argument("--robot", action="append", default=[], metavar="ROBOT_ID", help="robot certificate (CN = robot id)")
    p.add_argument("--operator", action="append", default=[], metavar="NAME", help="operator certificate")
    p.add_argument("--node", action="append", default=[], metavar="NAME", help="any other node (fleet view, policy server)")
    p.add_argument("--days", type=int, default=365)


def main(args) -> int:
    try:
        ca = make_ca(args.directory, days=args.days)
        for entry in [*args.router, *args.robot, *args.operator, *args.node]:
            name, _, hosts = entry.partition("@")
            cert, _ = make_certificate(args.directory, name, hosts=tuple(h for h in hosts.split(",") if h),
                                       days=args.days, ca=ca)
            print(f"zenoh-certs: {cert}")
    except (ValueError, RuntimeError) as error:
        print(f"humanoid-rt zenoh-certs: {error}", file=sys.stderr)
        return 2
    print(f"zenoh-certs: CA {ca[0]} (keep {ca[1]} off the robots)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m humanoid_rt.remote.certs")
    _arguments(parser)
    sys.exit(main(parser.parse_args()))
