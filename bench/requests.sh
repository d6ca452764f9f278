# Sourced by bench/breakdown.sh and bench/ab.sh: writes one fixed delivery per case into
# $RD/<case>.{body,headers,path} for bench/static.lua. Needs B (bench/) and RD set.
mk() { # name provider flavor
  python3 "$B/gen_requests.py" --provider "$2" --flavor "$3" --count 1 --threads 1 \
    --mix 100/0/0 ${REQ_SIZE:+--size "$REQ_SIZE"} --out "$RD/$1" 2>/dev/null
  python3 - "$RD/$1" <<'EOF'
import sys
p = sys.argv[1]
data = open(p + ".t0.req", "rb").read().split(b"\n", 1)[1]
head, rest = data.split(b"\n", 1)
kind, path, nh, blen = head.decode().split()
lines = rest.split(b"\n")
headers = [l.decode() for l in lines[:int(nh)]]
body = b"\n".join(lines[int(nh):])[:int(blen)]
open(p + ".body", "wb").write(body)
open(p + ".headers", "w").write("\n".join(headers) + "\n")
open(p + ".path", "w").write(path)
EOF
}
make_requests() { # fresh ones before each Worker: browser-use timestamps last 300 s
  mk bu-valid browser-use js-safe
  mk bu-real browser-use realistic
  mk sky-valid skyvern realistic
  cp "$RD/bu-valid.body" "$RD/bu-stale.body"
  cp "$RD/bu-valid.path" "$RD/bu-stale.path"
  sed 's/^X-Browser-Use-Timestamp: .*/X-Browser-Use-Timestamp: 1000000000/' "$RD/bu-valid.headers" >"$RD/bu-stale.headers"
}

