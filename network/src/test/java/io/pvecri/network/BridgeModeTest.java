package io.pvecri.network;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bridge mode end to end, inside throwaway namespaces. */
class BridgeModeTest extends NetTestSupport {

    @Test
    void twoPodsReachEachOtherAndTheGateway() throws Exception {
        PodNetworks nets = open(config().build());
        assertTrue(nets.readiness().ready(), nets.readiness().toString());
        Path a = ns.pod("a");
        Path b = ns.pod("b");
        String idA = newPodId();
        String idB = newPodId();
        NetworkStatus sa = nets.setUp(request(idA, "web-a", a));
        NetworkStatus sb = nets.setUp(request(idB, "web-b", b));

        assertEquals("10.88.0.1", sa.gateway());
        assertTrue(sa.ip().startsWith("10.88.0."), sa.ip());
        assertNotEquals(sa.ip(), sb.ip());
        assertNotEquals("10.88.0.1", sa.ip());
        assertEquals("eth0", sa.interfaceName());
        assertTrue(sa.mac().startsWith("02:"), sa.mac());
        assertTrue(Netnses.ping(a, sb.ip()), "a -> b");
        assertTrue(Netnses.ping(b, sa.ip()), "b -> a");
        assertTrue(Netnses.ping(a, "10.88.0.1"), "a -> gateway");
        assertTrue(Netnses.ping(a, "127.0.0.1"), "loopback up in the pod");
        assertTrue(Netnses.ping(ns.host(), sb.ip()), "host -> b");

        // the pod's eth0 carries the MAC and the host veth is pvc<8 hex of the pod id> on the bridge
        assertTrue(Netnses.ok(a, "ip", "link", "show", "eth0").contains(sa.mac()));
        assertTrue(Netnses.ok(ns.host(), "ip", "link", "show", "pvc" + idA.substring(0, 8)).contains("master pvctest0"));

        // DNS files: node default minus loopback resolver; hosts names the pod
        String resolv = Files.readString(sa.resolvConf());
        assertTrue(resolv.contains("nameserver 192.0.2.53"), resolv);
        assertFalse(resolv.contains("127.0.0.53"), resolv);
        assertTrue(resolv.contains("search example.test"), resolv);
        assertTrue(Files.readString(sa.hostsFile()).contains(sa.ip() + "\tweb-a"));
        assertEquals(sa.resolvConf().getParent(), stateDir().resolve(idA));

        assertEquals(List.of(), nets.check(idA));
        assertEquals(sa, nets.status(idA).orElseThrow());
        assertEquals(sa, nets.setUp(request(idA, "web-a", a)), "setUp is idempotent");

        List<BridgeCounters> counters = nets.bridgeCounters();
        assertEquals("pvctest0", counters.getFirst().bridge());
        assertTrue(counters.getFirst().rxPackets() > 0, counters.toString());

        assertEquals(List.of(), nets.tearDown(idA));
        assertEquals(List.of(), nets.tearDown(idA), "tearDown is idempotent");
        assertTrue(nets.status(idA).isEmpty());
        assertFalse(Files.exists(stateDir().resolve(idA)));
        assertFalse(hostLinks().contains("pvc" + idA.substring(0, 8)));
        assertFalse(Netnses.ping(b, sa.ip()), "a is gone");
        assertEquals(List.of(), nets.tearDown(idB));
    }

    @Test
    void podDnsConfigIsWrittenAsGiven() throws Exception {
        PodNetworks nets = open(config().build());
        Path a = ns.pod("a");
        String id = newPodId();
        var req = new PodNetworkRequest(id, "dns", "prod", "u1", Map.of(), Map.of(), a, List.of(),
                new DnsConfig(List.of("10.96.0.10"), List.of("prod.svc.cluster.local", "svc.cluster.local"), List.of("ndots:5")),
                "custom-host");
        NetworkStatus s = nets.setUp(req);
        assertEquals("# written by pve-cri\nnameserver 10.96.0.10\nsearch prod.svc.cluster.local svc.cluster.local\noptions ndots:5\n",
                Files.readString(s.resolvConf()));
        assertTrue(Files.readString(s.hostsFile()).contains(s.ip() + "\tcustom-host\n"));
        assertTrue(Files.readString(s.hostsFile()).startsWith("# written by pve-cri\n127.0.0.1\tlocalhost\n"));
        nets.tearDown(id);
    }

    @Test
    void badRequestsAreRefusedAndCreateNothing() throws Exception {
        PodNetworks nets = open(config().build());
        Path a = ns.pod("a");
        int links = hostLinkCount();
        assertThrows(NetworkException.InvalidRequest.class, () -> nets.setUp(request("../evil", "x", a)));
        assertThrows(NetworkException.InvalidRequest.class, () -> nets.setUp(request(newPodId(), "x", Path.of("/nonexistent/ns"))));
        assertThrows(NetworkException.InvalidRequest.class, () -> nets.setUp(request(newPodId(), "x", a, Map.of(),
                Map.of(PodNetworkRequest.NETWORK_GROUP_ANNOTATION, "Bad Group!"), List.of())));
        assertThrows(NetworkException.InvalidRequest.class, () -> nets.setUp(request(newPodId(), "x", a, Map.of(), Map.of(),
                List.of(new PortMapping(Protocol.TCP, 80, 8080, "not-an-ip")))));
        assertThrows(NetworkException.InvalidRequest.class, () -> nets.setUp(request(newPodId(), "x", a, Map.of(), Map.of(),
                List.of(PortMapping.tcp(80, 8080), PortMapping.tcp(81, 8080)))));
        assertThrows(NetworkException.InvalidRequest.class, () -> nets.setUp(new PodNetworkRequest(newPodId(), "x", "default", "u",
                Map.of(), Map.of(), a, List.of(), new DnsConfig(List.of("dns.example"), List.of(), List.of()), null)));
        assertEquals(links, hostLinkCount());
        assertEquals(Set.of(), nets.podIds());
        assertEquals(0, nets.leaseCount());
    }

    @Test
    void failedSetUpUnwindsEverything() throws Exception {
        PodNetworks nets = open(config().build());
        Path notANetns = tmp.resolve("plain-file");
        Files.writeString(notANetns, "");
        String id = newPodId();
        var e = assertThrows(NetworkException.SetupFailed.class, () -> nets.setUp(request(id, "broken", notANetns, Map.of(), Map.of(),
                List.of(PortMapping.tcp(80, 18080)))));
        assertTrue(e.getMessage().contains(id), e.getMessage());
        assertEquals(0, nets.leaseCount());
        assertEquals(Set.of(), nets.podIds());
        assertFalse(hostLinks().contains("pvc" + id.substring(0, 8)));
        assertEquals(0, nftRuleCount("pvecri"));
        assertFalse(Files.exists(stateDir().resolve(id)));
        // the port is free again
        Path a = ns.pod("a");
        String ok = newPodId();
        nets.setUp(request(ok, "fine", a, Map.of(), Map.of(), List.of(PortMapping.tcp(80, 18080))));
        assertEquals(List.of(), nets.tearDown(ok));
    }

    @Test
    void podWhoseNetnsVanishedIsTornDownCleanly() throws Exception {
        PodNetworks nets = open(config().build());
        Path a = ns.pod("a");
        String id = newPodId();
        nets.setUp(request(id, "gone", a, Map.of(), Map.of(), List.of(PortMapping.tcp(80, 18081))));
        ns.delete(a); // node reboot / netns removed first: the veth went with it
        assertEquals(List.of(), nets.tearDown(id));
        assertEquals(0, nets.leaseCount());
        assertEquals(0, nftRuleCount("pvecri"));
    }

    @Test
    void dualStackGivesBothFamilies() throws Exception {
        PodNetworks nets = open(config().cidr6("fd00:88::/64").build());
        Path a = ns.pod("a");
        Path b = ns.pod("b");
        NetworkStatus sa = nets.setUp(request(newPodId(), "v6-a", a));
        NetworkStatus sb = nets.setUp(request(newPodId(), "v6-b", b));
        assertEquals(1, sa.additionalIps().size(), sa.toString());
        assertTrue(sa.additionalIps().getFirst().startsWith("fd00:88::"), sa.toString());
        assertTrue(Netnses.in(a, "busybox", "ping6", "-c", "1", "-W", "2", sb.additionalIps().getFirst()).ok(), "a -> b over IPv6");
        assertTrue(Netnses.in(a, "busybox", "ping6", "-c", "1", "-W", "2", "fd00:88::1").ok(), "a -> gateway over IPv6");
        assertTrue(Netnses.ping(a, sb.ip()));
    }

    @Test
    void podCidrFromKubelet() throws Exception {
        PodNetworks nets = open(config().cidr(null).build());
        nets.updatePodCidr("10.77.3.0/24,fd00:77::/64");
        nets.updatePodCidr("10.77.3.0/24"); // repeated calls are no-ops
        Path a = ns.pod("a");
        String id = newPodId();
        NetworkStatus s = nets.setUp(request(id, "k", a));
        assertEquals("10.77.3.1", s.gateway());
        assertTrue(s.ip().startsWith("10.77.3."), s.ip());
        assertThrows(NetworkException.InvalidRequest.class, () -> nets.updatePodCidr("10.78.0.0/24"),
                "cannot move while pods hold addresses");
        nets.tearDown(id);
        nets.updatePodCidr("10.78.0.0/24");
        NetworkStatus s2 = nets.setUp(request(newPodId(), "k2", a));
        assertTrue(s2.ip().startsWith("10.78.0."), s2.ip());
        assertTrue(Netnses.ping(a, "10.78.0.1"), "bridge moved to the new gateway");
    }
}
