package io.pvecri.network;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * What the library made for one pod, persisted as {@code <stateDir>/<podId>/pod.json} before
 * anything is created on the host, so teardown and reconcile can always find it.
 *
 * @param state      PENDING while being set up, READY when done, REMOVING during teardown
 * @param mode       "bridge" or "cni"
 * @param bridge     bridge the pod's veth is on (bridge mode; CNI: the plugin's bridge if known)
 * @param group      isolation group or null
 * @param hostIface  host end of the veth (bridge mode)
 * @param addresses  pod addresses with prefix ("10.88.0.5/16"), primary first
 * @param gateway    IPv4 gateway (or the CNI result's first gateway)
 * @param gateway6   IPv6 gateway or null
 * @param stableKey  "namespace/name" of a StatefulSet pod, else null
 * @param cni        CNI mode: the network list used for ADD and the result it gave
 * @param dhcp       DHCP addressing: the pod's DHCP client and what its lease gave; null for static addressing
 */
record PodRecord(String podId, State state, String mode, String name, String namespace, String uid, String netns,
                 String bridge, String group, String hostIface, String mac, List<String> addresses, String gateway,
                 String gateway6, String stableKey, List<PortMapping> ports, DnsConfig dns, String hostname,
                 CniState cni, long createdAt, DhcpState dhcp) {

    enum State { PENDING, READY, REMOVING }

    /** CNI mode's memory of a pod: the exact config list ADD ran with, and its final result. */
    record CniState(JsonNode networkList, JsonNode result) {
    }

    /**
     * A DHCP pod's client and lease. {@code pid} 0: no client started yet.
     *
     * @param pid          the udhcpc process (it outlives the daemon; adopted after a restart)
     * @param lanDns       DNS servers and search domains the lease gave
     * @param server       the DHCP server that gave the lease
     * @param leaseSeconds lease time of the first lease
     */
    record DhcpState(long pid, DnsConfig lanDns, String server, long leaseSeconds) {
        DhcpState withPid(long p) {
            return new DhcpState(p, lanDns, server, leaseSeconds);
        }
    }

    PodRecord {
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        ports = ports == null ? List.of() : List.copyOf(ports);
    }

    PodRecord withState(State s) {
        return new PodRecord(podId, s, mode, name, namespace, uid, netns, bridge, group, hostIface, mac, addresses,
                gateway, gateway6, stableKey, ports, dns, hostname, cni, createdAt, dhcp);
    }

    PodRecord withAddressing(String hostIface, String mac, List<String> addresses, String gateway, String gateway6) {
        return new PodRecord(podId, state, mode, name, namespace, uid, netns, bridge, group, hostIface, mac, addresses,
                gateway, gateway6, stableKey, ports, dns, hostname, cni, createdAt, dhcp);
    }

    PodRecord withCni(CniState c) {
        return new PodRecord(podId, state, mode, name, namespace, uid, netns, bridge, group, hostIface, mac, addresses,
                gateway, gateway6, stableKey, ports, dns, hostname, c, createdAt, dhcp);
    }

    PodRecord withDhcp(DhcpState d) {
        return new PodRecord(podId, state, mode, name, namespace, uid, netns, bridge, group, hostIface, mac, addresses,
                gateway, gateway6, stableKey, ports, dns, hostname, cni, createdAt, d);
    }

    /** Addressed by DHCP (its address comes from the LAN's server, not the library's IPAM). */
    boolean dhcpAddressed() {
        return dhcp != null;
    }

    /** Addresses without their prefix length. */
    List<String> plainAddresses() {
        return addresses.stream().map(a -> a.contains("/") ? a.substring(0, a.indexOf('/')) : a).toList();
    }

    /** Mappings that really map (hostPort set). */
    List<PortMapping> activePorts() {
        return ports.stream().filter(p -> p.hostPort() != 0).toList();
    }
}
