package io.pvecri.network;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** The parts of a CNI result (0.3.0 … 1.0.0) the runtime uses. */
record CniResult(List<String> addresses, String gateway, String gateway6, String mac, DnsConfig dns) {

    static CniResult parse(JsonNode result, String ifname) {
        JsonNode interfaces = result.path("interfaces");
        List<String> v4 = new ArrayList<>();
        List<String> v6 = new ArrayList<>();
        String gw4 = null;
        String gw6 = null;
        for (JsonNode ip : result.path("ips")) {
            String addr = ip.path("address").asText("");
            if (addr.isEmpty()) {
                continue;
            }
            String gw = ip.path("gateway").asText(null);
            if (addr.contains(":")) {
                v6.add(addr);
                gw6 = gw6 == null ? gw : gw6;
            } else {
                v4.add(addr);
                gw4 = gw4 == null ? gw : gw4;
            }
        }
        String mac = null;
        for (JsonNode i : interfaces) {
            if (!i.path("sandbox").asText("").isEmpty() && (mac == null || i.path("name").asText().equals(ifname))) {
                mac = i.path("mac").asText(null);
            }
        }
        List<String> all = new ArrayList<>(v4);
        all.addAll(v6);
        JsonNode dns = result.path("dns");
        DnsConfig d = new DnsConfig(strings(dns.path("nameservers")), strings(dns.path("search")), strings(dns.path("options")));
        if (d.searches().isEmpty() && dns.hasNonNull("domain")) {
            d = new DnsConfig(d.servers(), List.of(dns.path("domain").asText()), d.options());
        }
        return new CniResult(all, gw4, gw6, mac, d);
    }

    private static List<String> strings(JsonNode arr) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : arr) {
            out.add(n.asText());
        }
        return out;
    }
}
