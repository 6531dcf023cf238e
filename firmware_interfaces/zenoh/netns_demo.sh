#!/usr/bin/env bash
# Three machines on one: a robot, an operator station and a policy server, each in its own network
# namespace, joined to a Zenoh router namespace by veth pairs (the same plumbing as tests/test_zenoh_netns.py:
# humanoid_rt.remote.netns.Lab). mTLS with a lab CA, an ACL per robot. Needs root.
#
#   sudo firmware_interfaces/zenoh/netns_demo.sh up      # namespaces, certificates, router config, router
#   sudo firmware_interfaces/zenoh/netns_demo.sh down    # stop the router, delete the namespaces
#
# Then run the three machines (the commands are printed by `up`).
set -euo pipefail
LAB=${LAB:-demo}
DIR=${DIR:-/tmp/hrt-zenoh-$LAB}
HRT=${HRT:-humanoid-rt}
ROUTER_NS=hrt-$LAB-router

case "${1:-}" in
up)
  mkdir -p "$DIR"
  $HRT netns up "$LAB" --spokes robot,operator,policy > "$DIR/lab.json"
  # Spoke k's link is 10.213.k.0/24: the router end .1, the machine .2 (robot 1, operator 2, policy 3).
  $HRT zenoh-certs "$DIR/certs" --router router --robot robot-1 --operator op-alice --node gpu-1 > /dev/null
  [ -f "$DIR/teleop.key" ] || $HRT teleop-keygen "$DIR/teleop.key" > /dev/null
  $HRT zenoh-acl "$DIR/router.json5" --tls-dir "$DIR/certs" --listen tls/0.0.0.0:7447 \
      --robot robot-1 --operator op-alice=robot-1 --policy-server gpu-1 --policy-use robot-1 > /dev/null
  ip netns exec "$ROUTER_NS" $HRT zenoh-router --zenoh-config "$DIR/router.json5" > "$DIR/router.log" 2>&1 &
  echo $! > "$DIR/router.pid"
  tls() { echo "--zenoh-mode client --connect tls/10.213.$1.1:7447 --no-multicast --tls-ca $DIR/certs/ca.pem --tls-cert $DIR/certs/$2.pem --tls-key $DIR/certs/$2.key"; }
  cat <<EOT
lab $LAB is up (router pid $(cat "$DIR/router.pid"), files in $DIR). In three terminals:

# robot (namespace hrt-$LAB-robot)
sudo ip netns exec hrt-$LAB-robot $HRT run --robot-id robot-1 --zenoh --key-file $DIR/teleop.key $(tls 1 robot-1)

# policy server (namespace hrt-$LAB-policy)
sudo ip netns exec hrt-$LAB-policy $HRT policy-serve humanoid_rt.remote.reference_policy:replay --name gpu-1 $(tls 3 gpu-1)

# operator station (namespace hrt-$LAB-operator): watch the fleet, then drive robot-1 by its id
sudo ip netns exec hrt-$LAB-operator $HRT fleet $(tls 2 op-alice)
sudo ip netns exec hrt-$LAB-operator $HRT teleop-send --zenoh robot-1 --key-file $DIR/teleop.key --generator sine --joints right_elbow --rate 100 $(tls 2 op-alice)
sudo ip netns exec hrt-$LAB-operator $HRT robot-request robot-1 enable --key-file $DIR/teleop.key $(tls 2 op-alice)
EOT
  ;;
down)
  if [ -f "$DIR/router.pid" ]; then kill "$(cat "$DIR/router.pid")" 2> /dev/null || true; rm -f "$DIR/router.pid"; fi
  $HRT netns down "$LAB" --spokes robot,operator,policy
  ;;
*)
  echo "usage: $0 up|down   (env: LAB=demo DIR=/tmp/hrt-zenoh-LAB HRT=humanoid-rt)" >&2
  exit 2
  ;;
esac
