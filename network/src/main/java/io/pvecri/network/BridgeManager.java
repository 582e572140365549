package io.pvecri.network;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Creates, checks, lists and deletes the library's Linux bridges in the host netns, and reads
 * their counters.
 */
final class BridgeManager {
    private final HostTools host;
    private final int mtu;

    BridgeManager(HostTools host, int mtu) {
        this.host = host;
        this.mtu = mtu;
    }

    /**
     * Makes {@code name} an UP bridge whose global addresses are exactly {@code addresses}
     * (CIDR text, e.g. "10.88.0.1/16" or "10.88.0.1/32" on group bridges). Creates it when missing.
     */
    void ensure(String name, List<String> addresses) throws IOException {
        Exec.Result shown = host.ipResult("-j", "-d", "addr", "show", "dev", name);
        List<String> batch = new ArrayList<>();
        Set<String> present = new HashSet<>();
        boolean created = false;
        if (!shown.ok()) {
            if (!shown.stderr().contains("does not exist")) {
                throw new IOException(shown.describe());
            }
            // A bridge whose MAC was never set takes the lowest MAC of its ports and changes it as
            // pods come and go, which leaves the pods' ARP entries for the gateway pointing nowhere.
            batch.add("link add " + name + " address " + MacAddresses.stable("bridge/" + name) + " mtu " + mtu + " type bridge");
            created = true;
        } else {
            JsonNode link = Json.MAPPER.readTree(shown.stdout()).path(0);
            String kind = link.path("linkinfo").path("info_kind").asText("");
            if (!kind.equals("bridge")) {
                throw new IOException("interface " + name + " exists and is not a bridge (kind '" + kind + "')");
            }
            for (JsonNode a : link.path("addr_info")) {
                if (!a.path("scope").asText().equals("global")) {
                    continue;
                }
                String cidr = canonical(a.path("local").asText() + "/" + a.path("prefixlen").asInt());
                present.add(cidr);
                if (!addresses.contains(cidr)) {
                    batch.add("addr del " + cidr + " dev " + name);
                }
            }
            boolean up = false;
            for (JsonNode f : link.path("flags")) {
                up |= f.asText().equals("UP");
            }
            if (up && batch.isEmpty() && present.containsAll(addresses)) {
                return;
            }
        }
        for (String a : addresses) {
            if (!present.contains(a)) {
                batch.add("addr add " + a + " dev " + name + (a.contains(":") ? " nodad" : ""));
            }
        }
        batch.add("link set " + name + " up");
        host.ipBatch(batch);
        if (created) {
            // hostPort from the host's own 127.0.0.1 (DNAT in output) must be routable to the bridge.
            host.sysctl("net/ipv4/conf/" + name + "/route_localnet=1");
        }
    }

    /**
     * The MTU of an existing bridge the library does not own (DHCP addressing: the LAN bridge).
     * Never creates or changes it.
     *
     * @throws IOException it does not exist or is not a bridge
     */
    int existingBridgeMtu(String name) throws IOException {
        Exec.Result shown = host.ipResult("-j", "-d", "link", "show", "dev", name);
        if (!shown.ok()) {
            throw new IOException("bridge " + name + " does not exist (with DHCP addressing the bridge must already exist:"
                    + " pve-cri puts pods on it but never creates it)");
        }
        JsonNode link = Json.MAPPER.readTree(shown.stdout()).path(0);
        String kind = link.path("linkinfo").path("info_kind").asText("");
        if (!kind.equals("bridge")) {
            throw new IOException("interface " + name + " is not a bridge (kind '" + kind + "')");
        }
        return link.path("mtu").asInt(mtu);
    }

    boolean exists(String name) throws IOException {
        return host.ipResult("link", "show", "dev", name).ok();
    }

    /** Deletes the bridge; a missing bridge is fine. */
    void delete(String name) throws IOException {
        Exec.Result r = host.ipResult("link", "del", "dev", name);
        if (!r.ok() && !r.stderr().contains("Cannot find device") && !r.stderr().contains("does not exist")) {
            throw new IOException(r.describe());
        }
    }

    /** Names of all bridges in the host netns. */
    List<String> bridges() throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode l : host.ipJson("link", "show", "type", "bridge")) {
            out.add(l.path("ifname").asText());
        }
        return out;
    }

    /** Host veth names with their bridge ("master", "" when none), for orphan detection. */
    List<String[]> veths() throws IOException {
        List<String[]> out = new ArrayList<>();
        for (JsonNode l : host.ipJson("link", "show", "type", "veth")) {
            out.add(new String[] {l.path("ifname").asText(), l.path("master").asText("")});
        }
        return out;
    }

    List<BridgeCounters> counters(Collection<String> names) throws IOException {
        List<BridgeCounters> out = new ArrayList<>();
        for (String name : names) {
            Exec.Result r = host.ipResult("-j", "-s", "link", "show", "dev", name);
            if (!r.ok()) {
                continue;
            }
            JsonNode s = Json.MAPPER.readTree(r.stdout()).path(0).path("stats64");
            JsonNode rx = s.path("rx");
            JsonNode tx = s.path("tx");
            out.add(new BridgeCounters(name, rx.path("bytes").asLong(), rx.path("packets").asLong(),
                    rx.path("errors").asLong(), rx.path("dropped").asLong(), tx.path("bytes").asLong(),
                    tx.path("packets").asLong(), tx.path("errors").asLong(), tx.path("dropped").asLong()));
        }
        return out;
    }

    private static String canonical(String cidr) {
        int slash = cidr.indexOf('/');
        var a = IpLiterals.parse(cidr.substring(0, slash));
        return a == null ? cidr : IpLiterals.format(a) + cidr.substring(slash);
    }
}
