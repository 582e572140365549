package io.pvecri.network;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Renders the library's whole nftables state as one script that replaces its two tables
 * atomically ({@code nft -f}): {@code table inet <name>} (hostPort DNAT for traffic from outside
 * and from the host itself, masquerade, isolation between bridges) and {@code table bridge
 * <name>} (MAC/IP anti-spoofing per pod port). Every pod rule carries {@code comment "pod:<id>"}.
 * Pure: no I/O, so it is tested on its own.
 */
final class NftRuleset {

    /**
     * Everything the rules depend on. {@code bridges}: pve-cri's own bridges in use (may be empty
     * with DHCP addressing: the LAN bridge is not one). {@code pods}: bridge-mode records with
     * addresses, and DHCP pods (MAC filter only: their address is the LAN's business; no hostPort).
     */
    record Input(String table, List<String> bridges, Subnet cidr4, Subnet cidr6, boolean masquerade,
                 List<PodRecord> pods, boolean withSctp) {
    }

    private NftRuleset() {
    }

    static String comment(String podId) {
        String id = podId.length() > 100 ? podId.substring(0, 100) : podId;
        return "comment \"pod:" + id + "\"";
    }

    static String podChain(PodRecord r) {
        return "pod-" + r.hostIface();
    }

    static String render(Input in) {
        String bridges = set(in.bridges());
        StringBuilder s = new StringBuilder();
        s.append("table inet ").append(in.table()).append('\n');
        s.append("delete table inet ").append(in.table()).append('\n');
        s.append("table inet ").append(in.table()).append(" {\n");

        s.append("  chain prerouting {\n    type nat hook prerouting priority -100; policy accept;\n");
        s.append("    fib daddr type local jump hostports\n  }\n");
        s.append("  chain output {\n    type nat hook output priority -100; policy accept;\n");
        s.append("    fib daddr type local jump hostports\n  }\n");

        s.append("  chain hostports {\n");
        for (PodRecord r : in.pods()) {
            if (r.dhcpAddressed()) {
                continue;
            }
            String v4 = first(r, true);
            String v6 = first(r, false);
            for (PortMapping p : r.activePorts()) {
                if (p.protocol() == Protocol.SCTP && !in.withSctp()) {
                    continue;
                }
                var hostIp = p.hostIp() == null ? null : IpLiterals.parse(p.hostIp());
                boolean wantV4 = hostIp == null || IpLiterals.isV4(hostIp);
                boolean wantV6 = hostIp == null || !IpLiterals.isV4(hostIp);
                if (wantV4 && v4 != null) {
                    s.append("    meta nfproto ipv4 ");
                    if (hostIp != null) {
                        s.append("ip daddr ").append(IpLiterals.format(hostIp)).append(' ');
                    }
                    s.append(portMatch(p)).append(" dnat ip to ").append(v4).append(':').append(p.containerPort())
                            .append(' ').append(comment(r.podId())).append('\n');
                }
                if (wantV6 && v6 != null) {
                    s.append("    meta nfproto ipv6 ");
                    if (hostIp != null) {
                        s.append("ip6 daddr ").append(IpLiterals.format(hostIp)).append(' ');
                    }
                    s.append(portMatch(p)).append(" dnat ip6 to [").append(v6).append("]:").append(p.containerPort())
                            .append(' ').append(comment(r.podId())).append('\n');
                }
            }
        }
        s.append("  }\n");

        s.append("  chain postrouting {\n    type nat hook postrouting priority 100; policy accept;\n");
        if (in.bridges().isEmpty()) {
            s.append("  }\n");
            s.append("  chain forward {\n    type filter hook forward priority 0; policy accept;\n  }\n");
            s.append("}\n");
            return renderBridgeTable(in, s);
        }
        // hostPort reached from the host's loopback or from a pod (hairpin): the reply must come back through the host.
        s.append("    oifname ").append(bridges).append(" ct status dnat ip saddr { 127.0.0.0/8, ").append(in.cidr4())
                .append(" } masquerade comment \"hostport-hairpin\"\n");
        if (in.cidr6() != null) {
            s.append("    oifname ").append(bridges).append(" ct status dnat ip6 saddr { ::1, ").append(in.cidr6())
                    .append(" } masquerade comment \"hostport-hairpin\"\n");
        }
        if (in.masquerade()) {
            s.append("    ip saddr ").append(in.cidr4()).append(" ip daddr != ").append(in.cidr4()).append(" oifname != ")
                    .append(bridges).append(" masquerade comment \"pod-egress\"\n");
            if (in.cidr6() != null) {
                s.append("    ip6 saddr ").append(in.cidr6()).append(" ip6 daddr != ").append(in.cidr6()).append(" oifname != ")
                        .append(bridges).append(" masquerade comment \"pod-egress\"\n");
            }
        }
        s.append("  }\n");

        s.append("  chain forward {\n    type filter hook forward priority 0; policy accept;\n");
        if (in.bridges().size() > 1) {
            for (String b : in.bridges()) {
                List<String> others = in.bridges().stream().filter(o -> !o.equals(b)).toList();
                s.append("    iifname \"").append(b).append("\" oifname ").append(set(others))
                        .append(" counter drop comment \"isolation\"\n");
            }
        }
        s.append("  }\n");
        s.append("}\n");
        return renderBridgeTable(in, s);
    }

    private static String renderBridgeTable(Input in, StringBuilder s) {
        s.append("table bridge ").append(in.table()).append('\n');
        s.append("delete table bridge ").append(in.table()).append('\n');
        s.append("table bridge ").append(in.table()).append(" {\n");
        s.append("  chain prerouting {\n    type filter hook prerouting priority 0; policy accept;\n");
        for (PodRecord r : in.pods()) {
            s.append("    iifname \"").append(r.hostIface()).append("\" jump ").append(podChain(r)).append(' ')
                    .append(comment(r.podId())).append('\n');
        }
        s.append("  }\n");
        for (PodRecord r : in.pods()) {
            String c = comment(r.podId());
            s.append("  chain ").append(podChain(r)).append(" {\n");
            s.append("    ether saddr != ").append(r.mac()).append(" counter drop ").append(c).append('\n');
            if (r.dhcpAddressed()) {
                s.append("  }\n");
                continue;
            }
            List<String> v4 = all(r, true);
            List<String> v6 = all(r, false);
            s.append("    ether type ip ip saddr != ").append(v4.isEmpty() ? "0.0.0.0" : set(v4, false)).append(" counter drop ").append(c).append('\n');
            s.append("    ether type arp arp saddr ip != ").append(v4.isEmpty() ? "0.0.0.0" : set(v4, false)).append(" counter drop ").append(c).append('\n');
            List<String> allowed6 = new ArrayList<>(List.of("fe80::/10", "::"));
            allowed6.addAll(v6);
            s.append("    ether type ip6 ip6 saddr != ").append(set(allowed6, false)).append(" counter drop ").append(c).append('\n');
            s.append("  }\n");
        }
        s.append("}\n");
        return s.toString();
    }

    private static String portMatch(PortMapping p) {
        return switch (p.protocol()) {
            case TCP -> "tcp dport " + p.hostPort();
            case UDP -> "udp dport " + p.hostPort();
            case SCTP -> "meta l4proto sctp th dport " + p.hostPort();
        };
    }

    private static String first(PodRecord r, boolean v4) {
        List<String> a = all(r, v4);
        return a.isEmpty() ? null : a.getFirst();
    }

    private static List<String> all(PodRecord r, boolean v4) {
        return r.plainAddresses().stream().filter(a -> v4 != a.contains(":")).toList();
    }

    private static String set(List<String> names) {
        return "{ " + names.stream().map(n -> "\"" + n + "\"").collect(Collectors.joining(", ")) + " }";
    }

    private static String set(List<String> items, boolean quote) {
        if (items.size() == 1) {
            return quote ? "\"" + items.getFirst() + "\"" : items.getFirst();
        }
        return "{ " + items.stream().map(n -> quote ? "\"" + n + "\"" : n).collect(Collectors.joining(", ")) + " }";
    }
}
