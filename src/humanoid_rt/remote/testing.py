"""A scriptable Zenoh endpoint for tests and labs: run it in another namespace, drive it over stdin.

    python -m humanoid_rt.remote.testing --zenoh-mode client --connect tls/10.1.2.1:7447 --tls-ca ... --tls-cert ...

One command per stdin line, one JSON answer per stdout line:
  put KEY HEX                -> {"ok": true}                       publish these exact bytes on KEY
  get KEY HEX TIMEOUT        -> {"replies": [{"ok": {...}} | {"err": {...}}]}   query KEY with payload HEX
  alive PATTERN TIMEOUT      -> {"alive": [robot ids]}             liveliness query
  quit
Tests build packets byte for byte (stepped sender clocks, replays, forgeries) and send them from a
process that really sits behind another network interface.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _decode(payload: bytes):
    try:
        return json.loads(payload.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return payload.hex()


def main(argv=None) -> int:
    from . import session as zenoh_session
    from .keys import robot_id_of

    parser = argparse.ArgumentParser(prog="python -m humanoid_rt.remote.testing")
    zenoh_session.add_arguments(parser, default_mode="client")
    args = parser.parse_args(argv)
    try:
        session = zenoh_session.open_session(zenoh_session.options_from_args(args, args.zenoh_config))
    except (ConnectionError, ValueError) as error:
        print(json.dumps({"ready": False, "error": str(error)}), flush=True)
        return 2
    print(json.dumps({"ready": True, "zid": str(session.zid())}), flush=True)
    publishers = {}
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "quit":
                break
            if words[0] == "put":
                key, data = words[1], bytes.fromhex(words[2]) if len(words) > 2 else b""
                if key not in publishers:
                    publishers[key] = session.declare_publisher(key, express=True)
                    deadline = time.monotonic() + 3.0  # the route may still be forming: wait for a subscriber
                    while not publishers[key].matching_status.matching and time.monotonic() < deadline:
                        time.sleep(0.01)
                publishers[key].put(data, attachment=b"testing")
                answer = {"ok": True}
            elif words[0] == "get":
                key, data, timeout = words[1], bytes.fromhex(words[2]), float(words[3])
                replies = []
                for reply in session.get(key, payload=data, timeout=timeout):
                    replies.append({"ok": _decode(reply.ok.payload.to_bytes())} if reply.ok is not None
                                   else {"err": _decode(reply.err.payload.to_bytes())})
                answer = {"replies": replies}
            elif words[0] == "alive":
                ids = sorted({robot_id_of(str(r.ok.key_expr)) for r in
                              session.liveliness().get(words[1], timeout=float(words[2])) if r.ok is not None})
                answer = {"alive": ids}
            else:
                answer = {"error": f"unknown command {words[0]!r}; allowed: put, get, alive, quit"}
        except Exception as error:  # report and keep serving: the test decides
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
