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
 */
record PodRecord(String podId, State state, String mode, String name, String namespace, String uid, String netns,
                 String bridge, String group, String hostIface, String mac, List<String> addresses, String gateway,
                 String gateway6, String stableKey, List<PortMapping> ports, DnsConfig dns, String hostname,
                 CniState cni, long createdAt) {

    enum State { PENDING, READY, REMOVING }

    /** CNI mode's memory of a pod: the exact config list ADD ran with, and its final result. */
    record CniState(JsonNode networkList, JsonNode result) {
    }

    PodRecord {
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        ports = ports == null ? List.of() : List.copyOf(ports);
    }

    PodRecord withState(State s) {
        return new PodRecord(podId, s, mode, name, namespace, uid, netns, bridge, group, hostIface, mac, addresses,
                gateway, gateway6, stableKey, ports, dns, hostname, cni, createdAt);
    }

    PodRecord withAddressing(String hostIface, String mac, List<String> addresses, String gateway, String gateway6) {
        return new PodRecord(podId, state, mode, name, namespace, uid, netns, bridge, group, hostIface, mac, addresses,
                gateway, gateway6, stableKey, ports, dns, hostname, cni, createdAt);
    }

    PodRecord withCni(CniState c) {
        return new PodRecord(podId, state, mode, name, namespace, uid, netns, bridge, group, hostIface, mac, addresses,
                gateway, gateway6, stableKey, ports, dns, hostname, c, createdAt);
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
