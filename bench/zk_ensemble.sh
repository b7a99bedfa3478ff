# Sourced by benchmarks: zk_ensemble DIR [TICK_MS] starts a three-server
# ZooKeeper ensemble on loopback (Debian's zookeeper) under DIR and waits
# until it serves; it sets ZK_SERVERS (HOST:PORT,...), ZK_PORTS and appends
# the servers' pids to the array `pids` (the caller kills them).
zk_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
zk_ask() {  # zk_ask PORT WORD: a four-letter word's answer
  python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1); s.sendall(sys.argv[2].encode())
    out = b""
    while chunk := s.recv(4096): out += chunk
    print(out.decode())
except OSError:
    pass
PY
}
zk_ensemble() {
  local dir=$1 tick=${2:-500} servers="" i
  ZK_PORTS=()
  for i in 1 2 3; do ZK_PORTS+=("$(zk_free_port)"); servers+="server.$i=127.0.0.1:$(zk_free_port):$(zk_free_port)"$'\n'; done
  for i in 1 2 3; do
    mkdir -p "$dir/zk$i/data"; echo "$i" > "$dir/zk$i/data/myid"
    printf 'tickTime=%s\ninitLimit=20\nsyncLimit=10\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=srvr,mntr\n%s' \
      "$tick" "$dir/zk$i/data" "${ZK_PORTS[$((i-1))]}" "$servers" > "$dir/zk$i/zoo.cfg"
    java -Xmx1g -Dzookeeper.log.dir="$dir/zk$i" -cp /etc/zookeeper/conf_example:/usr/share/java/zookeeper.jar \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zk$i/zoo.cfg" >"$dir/zk$i.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 120); do
    local n=0 p
    for p in "${ZK_PORTS[@]}"; do zk_ask "$p" srvr | grep -q 'Mode: ' && n=$((n+1)); done
    [ "$n" = 3 ] && break; sleep 0.5
  done
  ZK_SERVERS="127.0.0.1:${ZK_PORTS[0]},127.0.0.1:${ZK_PORTS[1]},127.0.0.1:${ZK_PORTS[2]}"
}
