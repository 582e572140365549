package io.pvecri.network;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A pod's veth pair: the host end on a bridge, the other end inside the pod's netns as eth0 with
 * its addresses, default routes and loopback up.
 */
final class PodInterface {
    private final HostTools host;
    private final int mtu;

    PodInterface(HostTools host, int mtu) {
        this.host = host;
        this.mtu = mtu;
    }

    /**
     * What to wire. {@code hostRoutes}: add /32 (/128) routes to the bridge (group bridges).
     * {@code mtu}: of the veth; 0 = the configured one.
     */
    record Wiring(String hostIface, String bridge, Path podNetns, String mac, List<String> addresses,
                  String gateway, String gateway6, boolean hostRoutes, int mtu) {
    }

    void create(Wiring w) throws IOException {
        int mtu = w.mtu() > 0 ? w.mtu() : this.mtu;
        List<String> hostSide = new ArrayList<>();
        hostSide.add("link add " + w.hostIface() + " mtu " + mtu + " type veth peer name " + InterfaceNames.POD_IFNAME
                + " mtu " + mtu + " address " + w.mac() + " netns " + w.podNetns());
        hostSide.add("link set " + w.hostIface() + " master " + w.bridge() + " up");
        // hairpin: a pod reaching its own hostPort gets the DNATed packet back through its own port
        hostSide.add("link set " + w.hostIface() + " type bridge_slave hairpin on");
        if (w.hostRoutes()) {
            for (String a : w.addresses()) {
                hostSide.add("route replace " + hostRoute(a) + " dev " + w.bridge());
            }
        }
        host.ipBatch(hostSide);

        List<String> podSide = new ArrayList<>();
        podSide.add("link set lo up");
        for (String a : w.addresses()) {
            podSide.add("addr add " + a + " dev " + InterfaceNames.POD_IFNAME + (a.contains(":") ? " nodad" : ""));
        }
        podSide.add("link set " + InterfaceNames.POD_IFNAME + " up");
        if (w.gateway() != null) {
            podSide.add("route replace default via " + w.gateway() + " dev " + InterfaceNames.POD_IFNAME);
        }
        if (w.gateway6() != null) {
            podSide.add("route replace ::/0 via " + w.gateway6() + " dev " + InterfaceNames.POD_IFNAME);
        }
        host.in(Netns.of(w.podNetns())).ipBatch(podSide);
    }

    /** Deletes the host end (the pod end goes with it) and the pod's host routes; missing pieces are fine. */
    List<String> delete(String hostIface, String bridge, List<String> addresses, boolean hostRoutes) {
        List<String> errors = new ArrayList<>();
        if (hostRoutes) {
            for (String a : addresses) {
                try {
                    Exec.Result r = host.ipResult("route", "del", hostRoute(a), "dev", bridge);
                    if (!r.ok() && !missing(r)) {
                        errors.add(r.describe());
                    }
                } catch (IOException e) {
                    errors.add(e.getMessage());
                }
            }
        }
        if (hostIface != null) {
            try {
                Exec.Result r = host.ipResult("link", "del", "dev", hostIface);
                if (!r.ok() && !missing(r)) {
                    errors.add(r.describe());
                }
            } catch (IOException e) {
                errors.add(e.getMessage());
            }
        }
        return errors;
    }

    /** Problems with a set-up pod's interfaces; empty when all is in place. */
    List<String> check(Wiring w) throws IOException {
        List<String> problems = new ArrayList<>();
        Exec.Result hostSide = host.ipResult("-j", "link", "show", "dev", w.hostIface());
        if (!hostSide.ok()) {
            problems.add("host interface " + w.hostIface() + " is missing");
            return problems;
        }
        JsonNode link = Json.MAPPER.readTree(hostSide.stdout()).path(0);
        if (!link.path("master").asText("").equals(w.bridge())) {
            problems.add(w.hostIface() + " is not on bridge " + w.bridge());
        }
        Exec.Result podSide = host.in(Netns.of(w.podNetns())).ipResult("-j", "addr", "show", "dev", InterfaceNames.POD_IFNAME);
        if (!podSide.ok()) {
            problems.add("pod interface " + InterfaceNames.POD_IFNAME + " is missing: " + podSide.describe());
            return problems;
        }
        JsonNode pod = Json.MAPPER.readTree(podSide.stdout()).path(0);
        List<String> have = new ArrayList<>();
        for (JsonNode a : pod.path("addr_info")) {
            have.add(a.path("local").asText() + "/" + a.path("prefixlen").asInt());
        }
        for (String a : w.addresses()) {
            if (!have.contains(a)) {
                problems.add("pod lacks address " + a);
            }
        }
        return problems;
    }

    boolean exists(String hostIface) throws IOException {
        return host.ipResult("link", "show", "dev", hostIface).ok();
    }

    private static String hostRoute(String cidr) {
        String ip = cidr.substring(0, cidr.indexOf('/'));
        return ip + (ip.contains(":") ? "/128" : "/32");
    }

    private static boolean missing(Exec.Result r) {
        String e = r.stderr();
        return e.contains("Cannot find device") || e.contains("does not exist") || e.contains("No such process")
                || e.contains("No such file or directory");
    }
}
