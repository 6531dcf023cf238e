"""Open a Zenoh session from a few explicit options (mode, endpoints, TLS/mTLS files).

    options = SessionOptions(mode="client", connect=("tls/10.77.0.1:7447",),
                             tls_ca="ca.pem", tls_cert="op.pem", tls_key="op.key")
    session = open_session(options)

A Zenoh JSON5 config file can be the base (`config_file`); the options then override its
fields. Everything else (queues, lease, ACL on routers) stays in the file. Errors name the
option and the allowed values before Zenoh sees anything.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

MODES = ("peer", "client", "router")
PROTOCOLS = ("tcp", "tls", "udp", "quic", "unixsock-stream")


def _check_endpoint(endpoint: str, name: str) -> str:
    protocol, sep, address = str(endpoint).partition("/")
    if not sep or protocol not in PROTOCOLS or not address:
        raise ValueError(f"{name}: {endpoint!r}; allowed: <protocol>/<address>, protocol one of {', '.join(PROTOCOLS)} "
                         "(e.g. tcp/10.0.0.1:7447)")
    return str(endpoint)


@dataclass(frozen=True)
class SessionOptions:
    """How to reach the Zenoh network.

    mode: peer (LAN, direct links between peers), client (through a router) or router.
    connect / listen: endpoints such as "tcp/10.77.0.1:7447" or "tls/router.lab:7447".
    multicast_scouting: find peers and routers by UDP multicast (None: Zenoh's default, on for peers).
    tls_ca: CA certificate to trust; tls_cert / tls_key: this node's certificate and key (presented to
        the router for mTLS when connecting; served on tls/ listen endpoints, which then demand a
        certificate signed by tls_ca from every client). mtls: demand client certificates even so.
    lease_s: how long a silent link is kept before the peer counts as gone (Zenoh default 10 s).
    config_file: a Zenoh JSON5 config the options above are applied on top of (e.g. a router's ACL).
    """

    mode: str = "peer"
    connect: tuple[str, ...] = ()
    listen: tuple[str, ...] = ()
    multicast_scouting: bool | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    mtls: bool = False
    verify_name: bool = False
    lease_s: float | None = None
    config_file: str | None = None
    extra: dict = field(default_factory=dict)  # raw "path/in/config": value overrides

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"zenoh mode: {self.mode!r}; allowed: {', '.join(MODES)}")
        object.__setattr__(self, "connect", tuple(_check_endpoint(e, "connect") for e in self.connect))
        object.__setattr__(self, "listen", tuple(_check_endpoint(e, "listen") for e in self.listen))
        if self.mode == "client" and not self.connect and self.multicast_scouting is False and not self.config_file:
            raise ValueError("connect: a client needs a router endpoint (or multicast scouting to find one)")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert, tls_key: give both (this node's certificate and its private key) or neither")
        for name in ("tls_ca", "tls_cert", "tls_key", "config_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name}: {path}: no such file")
        if self.mtls and (self.tls_ca is None or self.tls_cert is None):
            raise ValueError("mtls: needs tls_ca (to check client certificates) and tls_cert/tls_key (to serve)")
        if self.lease_s is not None and not 0.1 <= self.lease_s <= 3600:
            raise ValueError(f"lease_s: {self.lease_s!r}; allowed: 0.1 .. 3600 s")

    def with_(self, **changes) -> "SessionOptions":
        return replace(self, **changes)

    def to_config(self):
        """The zenoh.Config these options describe."""
        import zenoh

        config = zenoh.Config.from_file(self.config_file) if self.config_file else zenoh.Config()
        values: dict[str, object] = {"mode": self.mode}
        if self.connect:
            values["connect/endpoints"] = list(self.connect)
        if self.listen:
            values["listen/endpoints"] = list(self.listen)
        if self.multicast_scouting is not None:
            values["scouting/multicast/enabled"] = self.multicast_scouting
        tls = "transport/link/tls/"
        if self.tls_ca is not None:
            values[tls + "root_ca_certificate"] = str(Path(self.tls_ca).resolve())
        if self.tls_cert is not None:
            cert, key = str(Path(self.tls_cert).resolve()), str(Path(self.tls_key).resolve())
            values[tls + "connect_certificate"], values[tls + "connect_private_key"] = cert, key
            values[tls + "listen_certificate"], values[tls + "listen_private_key"] = cert, key
        if self.tls_ca is not None or self.tls_cert is not None:
            # Zenoh presents the connect certificate only with enable_mtls, and demands client certificates
            # on tls/ listeners with it: a node with a certificate does both.
            values[tls + "enable_mtls"] = bool(self.mtls or self.tls_cert is not None)
            values[tls + "verify_name_on_connect"] = bool(self.verify_name)
        if self.lease_s is not None:
            values["transport/link/tx/lease"] = int(self.lease_s * 1000)
        values.update(self.extra)
        for path, value in values.items():
            config.insert_json5(path, json.dumps(value))
        return config


def open_session(options: SessionOptions | None = None):
    """zenoh.open() with these options (default: a plain peer)."""
    import zenoh

    options = options or SessionOptions()
    try:
        return zenoh.open(options.to_config())
    except zenoh.ZError as error:
        raise ConnectionError(f"zenoh: cannot open a {options.mode} session "
                              f"(connect {list(options.connect)}, listen {list(options.listen)}): {error}") from None


def endpoints_only(connect: Sequence[str] = (), listen: Sequence[str] = (), mode: str = "peer") -> SessionOptions:
    """Options for a session that reaches only the endpoints it names: no multicast scouting, so nothing
    goes to other hosts unless an endpoint names them (tests, benches, a robot pointed at one server)."""
    return SessionOptions(mode=mode, connect=tuple(connect), listen=tuple(listen), multicast_scouting=False)


# ------------------------------------------------------------------------------------ command line
def add_arguments(parser: argparse.ArgumentParser, *, default_mode: str = "peer", multicast: bool = True,
                  config_file: bool = True) -> None:
    """The options every Zenoh command takes; config_file: also `--zenoh-config JSON5`, the base file they
    override (`run` names its file with `--zenoh [CONFIG]` instead).

    multicast=False: this command does not scout by UDP multicast unless asked (`--multicast`), as a server
    that robots reach by explicit endpoints should not announce itself on every interface.
    """
    group = parser.add_argument_group("zenoh")
    if config_file:
        group.add_argument("--zenoh-config", default=None, metavar="JSON5",
                           help="Zenoh config file: the base the options below override (ACL, queues, ...)")
    group.add_argument("--zenoh-mode", choices=MODES, default=None,
                       help=f"peer (LAN, direct), client (through a router) or router (default {default_mode}, "
                       "or the config file's)")
    group.add_argument("--connect", action="append", default=[], metavar="ENDPOINT",
                       help="endpoint to connect to, e.g. tcp/10.0.0.1:7447 or tls/router:7447 (repeatable)")
    group.add_argument("--listen", action="append", default=[], metavar="ENDPOINT",
                       help="endpoint to listen on, e.g. tcp/0.0.0.0:7447 (repeatable)")
    group.add_argument("--no-multicast", action="store_true", help="do not scout for peers by UDP multicast"
                       + ("" if multicast else " (the default here)"))
    if not multicast:
        group.add_argument("--multicast", action="store_true",
                           help="scout for peers and routers by UDP multicast (off by default for this command)")
    group.add_argument("--tls-ca", default=None, metavar="PEM", help="CA certificate to trust")
    group.add_argument("--tls-cert", default=None, metavar="PEM", help="this node's certificate (mTLS)")
    group.add_argument("--tls-key", default=None, metavar="PEM", help="this node's private key")
    group.add_argument("--lease", type=float, default=None, metavar="S",
                       help="declare a silent link dead after this many seconds (Zenoh default 10)")
    parser.set_defaults(_zenoh_default_mode=default_mode, _zenoh_multicast_default=multicast)


def options_from_args(args, config_file: str | Path | None = None) -> SessionOptions:
    if config_file is None:  # the command's own --zenoh-config (add_arguments), if it has one
        config_file = getattr(args, "zenoh_config", None)
    mode = args.zenoh_mode
    if mode is None:
        mode = _mode_in_file(config_file) or args._zenoh_default_mode
    if args.no_multicast:
        multicast = False
    elif getattr(args, "multicast", False):
        multicast = True
    else:  # None: Zenoh's own default (on for peers)
        multicast = None if getattr(args, "_zenoh_multicast_default", True) else False
    return SessionOptions(
        mode=mode, connect=tuple(args.connect), listen=tuple(args.listen), multicast_scouting=multicast, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
        tls_key=args.tls_key, lease_s=args.lease, config_file=str(config_file) if config_file else None)


def _mode_in_file(config_file) -> str | None:
    if not config_file:
        return None
    import zenoh

    try:
        mode = zenoh.Config.from_file(str(config_file)).get_json("mode")
    except zenoh.ZError as error:
        raise ValueError(f"zenoh config {config_file}: {error}") from None
    return json.loads(mode) if isinstance(mode, str) and mode.startswith('"') else mode
