# haproxy_config PORT ADDRESS…: an HAProxy configuration (on stdout) that balances HTTP on 127.0.0.1:PORT round
# robin over the Tessera instances at ADDRESS (host:port), each checked at /health/ready. Sourced by
# tests/cluster/run.sh and bench/cluster.sh.
haproxy_config() {
  local port=$1 i=0 address; shift
  cat <<CFG
global
    maxconn 1024
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend tessera
    bind 127.0.0.1:$port
    default_backend instances
backend instances
    balance roundrobin
    option httpchk GET /health/ready
CFG
  for address in "$@"; do
    echo "    server tessera$i $address check"
    i=$((i + 1))
  done
}
