# Real-router checks for the RouterOS API simulator's unverified behaviours
# (tests/routeros_sim/README.md, "Configurable, and why"). Paste the commands into a RouterOS 7
# terminal on a scratch CHR; under each block, what every value of the simulator's switch predicts.
# Note the RouterOS version (/system resource print) and report what you saw; the matching switch
# value then becomes the simulator's default for that version.
# API checks use the simulator's raw client (it speaks the real protocol to any router):
#   PYTHONPATH=tests python3 -c 'from routeros_sim.client import RawClient as C; c = C(8728, host="ROUTER"); c.login("admin", ""); print(c.call(...))'
# Everything below carries comment=sim-check; the last block removes it.

# --- setup
/ip address add address=192.0.2.2/24 interface=ether1 comment=sim-check
/routing table add name=simcheck fib comment=sim-check
/routing table add name=simnofib comment=sim-check

# --- execution_order (API only): 20 tagged adds in one write, then the list order
#   c.send_many(*[("/routing/rule/add", "=comment=sim-check-%d" % n, ".tag=%d" % n) for n in range(20)])
#   [c.read_sentence() for n in range(20)]          -> the order of the .tag= replies
#   c.call("/routing/rule/print", "?comment")       -> the order of the comments
#   then pipelined: c.send_many(("/routing/table/add", "=name=simorder", "=fib=", "=comment=sim-check", ".tag=a"),
#                               ("/ip/route/add", "=gateway=192.0.2.1", "=routing-table=simorder",
#                                "=comment=sim-check", ".tag=b"))
#   arrival:  comments 0..19 in list order, replies in tag order, both pipelined commands succeed
#   reversed/shuffled: any other list order, or the route add trapped
#                      "input does not match any value of routing-table" (run it a few times)

# --- table_removal
/routing rule add table=simcheck comment=sim-check
/ip route add gateway=192.0.2.1 routing-table=simcheck comment=sim-check
/routing table remove [find name=simcheck]
/routing rule print detail where comment=sim-check
/ip route print detail where comment=sim-check
#   dangle:  removed; the rule prints table=*N with flag I, the route routing-table=*N with flag I
#   refuse:  an error naming the table (write down its exact text)
#   cascade: removed, and the rule and the route are gone
/routing table add name=simcheck fib comment=sim-check

# --- builtin_rules (7.22 and later)
/routing rule print detail
:put [/routing rule print as-value]
#   absent:    user rules only, no default property
#   flag-only: user rules carry default=false, nothing else
#   present:   rows flagged * (default=true): note their chain, action, table, position and .id;
#              try "/routing rule remove" and "move" on one and note the messages

# --- disabled_route_print (compare 7.22.x with 7.23.x)
/ip route add dst-address=198.51.100.0/24 gateway=192.0.2.1 disabled=yes comment=sim-check
/ip route add dst-address=203.0.113.0/24 blackhole disabled=yes comment=sim-check
#   API: c.call("/ip/route/print", "?disabled=true")   -> the keys of each !re
#   reduced:           .id dst-address gateway disabled inactive static comment; the blackhole shows
#                      neither gateway nor blackhole
#   reduced-blackhole: the same, and the blackhole keeps blackhole=""
#   full:              also distance, scope, target-scope, routing-table (and immediate-gw)

# --- fibless_route_print
/ip route add dst-address=198.51.100.0/24 gateway=192.0.2.1 routing-table=simnofib comment=sim-check
/ip route print detail where routing-table=simnofib
#   inactive: flag I (API inactive=true)       active: flag A (API active=true)

# --- gateway_resolution and strip_gateway_main
/ip route add dst-address=198.51.100.0/24 gateway=192.0.2.1 routing-table=simcheck comment=sim-check
/ip route add dst-address=198.51.101.0/24 gateway=192.0.2.1@main routing-table=simcheck comment=sim-check
/ip route print detail where routing-table=simcheck
#   gateway_resolution main: the first is A with immediate-gw=192.0.2.1%ether1;  own-table: it is I
#   strip_gateway_main true: the second prints gateway=192.0.2.1;  false: gateway=192.0.2.1@main

# --- route activity (modelled from the IP Routing page; confirm): recursive default, check-gateway
/ip route add dst-address=198.18.2.2/32 gateway=192.0.2.1 scope=10 comment=sim-check
/ip route add gateway=198.18.2.2 target-scope=11 routing-table=simcheck comment=sim-check
/ip route add dst-address=10.66.0.0/16 gateway=198.18.2.2 comment=sim-check
/ip route add dst-address=10.67.0.0/16 gateway=198.18.2.2 target-scope=11 check-gateway=ping comment=sim-check
/ip route add dst-address=10.68.0.0/16 gateway=192.0.2.1,192.0.2.3 comment=sim-check
/ip route print detail where comment=sim-check
#   the simcheck default: A, immediate-gw=192.0.2.1%ether1 (resolved through the /32, scope 10 <= 11)
#   10.66.0.0/16 (target-scope 10): A as well (scope 10 <= 10); 10.67.0.0/16: A, then I about 20 s
#   later (nothing answers 198.18.2.2); 10.68.0.0/16: A with ecmp (+), note how immediate-gw lists
#   both gateways

# --- the role's monitor pattern: a host route in the WAN's table, the default via target@table
#     (roles/routeros_dst_routing/README.md, Failover); the simulator resolves IP@table in that table
/ip route add dst-address=198.18.3.3/32 gateway=192.0.2.1 scope=10 routing-table=simcheck comment=sim-check
/ip route add gateway=198.18.3.3@simcheck target-scope=11 check-gateway=ping routing-table=simcheck comment=sim-check
/ip route print detail where routing-table=simcheck
#   the host route: A; the default: A with immediate-gw=192.0.2.1%ether1, then I about 20 s later
#   (nothing answers 198.18.3.3); printed gateway=198.18.3.3@simcheck (the module compares it so)

# --- netwatch_print
/tool netwatch add host=198.18.3.3 comment=sim-check
/tool netwatch add host=198.18.3.4 type=icmp interval=30s timeout=500ms comment=sim-check
#   c.call("/tool/netwatch/print", "?comment=sim-check")  -> the keys of each !re
#   all:     the first prints type=simple interval=10s timeout=3s too
#   written: the first prints no type, interval or timeout; both print status (down: nothing answers)

# --- host_bits
/ip route add dst-address=10.9.8.7/8 gateway=192.0.2.1 comment=sim-check
#   mask: printed 10.0.0.0/8   keep: printed 10.9.8.7/8   refuse: an error (note its text)

# --- rule_tables_must_exist
/routing rule add table=nosuchtable comment=sim-check
#   true: "input does not match any value of table"   false: accepted

# --- API print shapes: proplist_keeps_id, show_nextid, mangle_prints_written_only, emit_empty
/ip firewall mangle add chain=prerouting comment=sim-check
#   c.call("/ip/route/print", "=.proplist=dst-address")  proplist_keeps_id true: .id in every row
#   c.call("/routing/rule/print")                        show_nextid true: .nextid in every row
#   c.call("/ip/firewall/mangle/print", "?comment=sim-check")
#                                                        mangle_prints_written_only true: no disabled/log/log-prefix
#   c.call("/ip/route/print", "?comment=nothing")        emit_empty: !empty before !done (7.18 and later)

# --- session: fatal_before_login, login_methods (API, a fresh connection each)
#   C(8728, host="ROUTER").call("/system/identity/print")  true: !fatal "not logged in" and the
#                                                           connection closes; false: !trap then !done
#   C(8728, host="ROUTER").call("/login")                    challenge: !done =ret=<32 hex>; plain only: !trap

# --- clean up
/routing rule remove [find comment~"sim-check"]
/ip route remove [find comment=sim-check]
/ip firewall mangle remove [find comment=sim-check]
/tool netwatch remove [find comment=sim-check]
/routing table remove [find comment=sim-check]
/ip address remove [find comment=sim-check]
